"""Test-wide setup: private cache/data dirs (never the user's), and the faulty test engines as plugins."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAULTY = {
    "segv": "SegfaultEngine",
    "abort": "AbortEngine",
    "hang": "HangEngine",
    "loadfail": "LoadFailEngine",
    "raise": "RaiseEngine",
    "slow": "SlowEngine",
    "skewed": "SkewedOrtEngine:onnx",
}
_TMP = tempfile.mkdtemp(prefix="infbench-tests-")


def pytest_configure(config: pytest.Config) -> None:
    """Point caches and session storage at a private temp dir; register the faulty engines."""
    os.environ["INFBENCH_CACHE_DIR"] = os.path.join(_TMP, "cache")
    os.environ["INFBENCH_DATA_DIR"] = os.path.join(_TMP, "data")
    os.environ["INFBENCH_ENGINE_PLUGINS"] = ",".join(
        f"{name}=tests.engines.faulty_engines:{cls}" for name, cls in FAULTY.items()
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    from infbench.engines.registry import register_plugins

    register_plugins()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the private temp dir."""
    shutil.rmtree(_TMP, ignore_errors=True)
