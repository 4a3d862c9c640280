"""Error hierarchy: every error a user can cause or fix carries a message they can act on.

`cli.py` turns an `InfbenchError` into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations


class InfbenchError(Exception):
    """Base of all errors that are reported to the user as one line (no traceback)."""

    exit_code: int = 1


class ConfigError(InfbenchError):
    """Bad arguments or an impossible plan (exit code 2, like argparse)."""

    exit_code = 2


class ModelError(InfbenchError):
    """A model that is missing, corrupt, or cannot take the requested shapes."""

    exit_code = 2


class BackendUnavailable(InfbenchError):
    """A backend that is unknown or whose package cannot be imported."""

    exit_code = 2


class EngineFailure(InfbenchError):
    """An engine child process crashed, hung, or raised while loading or running."""


class SessionError(InfbenchError):
    """A session file that cannot be written or read (corrupt, foreign, newer schema, disk full)."""
