"""Entry points from the CLI: `run_live` (setup or live run) and `run_replay`."""

from __future__ import annotations

import argparse
import sys

from infbench.errors import InfbenchError
from infbench.plan.spec import RunPlan


def run_live(plan: RunPlan, args: argparse.Namespace) -> int:
    """Open the TUI on `plan` (the setup form first when `args.setup`); returns the run's exit code.

    Exit codes as the headless run: 0 all ok, 1 any failed/degraded, 130 interrupted. A run that could not
    start raises its error (one line on stderr via the CLI).
    """
    from infbench.tui.app import InfbenchApp
    from infbench.tui.screens.live import LiveResult

    app = InfbenchApp(plan=plan, args=args, setup=bool(getattr(args, "setup", False)))
    result = app.run()
    if not isinstance(result, LiveResult):
        return 0 if result is None else int(result)  # None: left the setup screen without starting a run
    if result.path:
        from infbench.run.headless import announce_saved

        announce_saved(result.path)
    if result.error is not None and result.path is None:
        if isinstance(result.error, InfbenchError):
            raise result.error
        raise InfbenchError(f"{type(result.error).__name__}: {result.error}") from result.error
    if result.error is not None:
        sys.stderr.write(f"infbench-tui: error: {result.error}\n")
    return result.code


def run_replay(path: str, *, speed: float = 1.0, start_s: float = 0.0, paused: bool = False) -> int:
    """Replay the session at `path` in the TUI; a bad file raises SessionError (one line via the CLI)."""
    from infbench.sessions.reader import open_session
    from infbench.tui.app import InfbenchApp

    data = open_session(path)
    try:
        InfbenchApp(data=data, session=str(path), speed=speed, start_s=start_s, playing=not paused).run()
    finally:
        close = getattr(data, "close", None)
        if close is not None:
            close()
    return 0
