"""A test engine whose load blocks until the test lets it go: a backend that is "still loading" for as long as a
test needs, without guessing durations. Loaded into real worker children as a plugin (see `gate_plugin`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from infbench.engines.base import Engine, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema
from infbench.engines.registry import PLUGIN_ENV, register_engine, unregister_engine

TARGET = "tests.core.gated_engine:GateEngine"


class GateEngine(Engine):
    """Marks load phase "read", then blocks reading the FIFO at option ``fifo`` until a line arrives; a no-op after.

    A FIFO's reader blocks in open() until a writer comes, so `release` is the only way on.
    """

    info = EngineInfo(
        name="gate",
        description="test: load waits for a FIFO",
        options=OptionSchema((Option("fifo", "str", "path of the FIFO the load waits on"),)),
    )

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        self.mark_phase("read")
        with open(options["fifo"], encoding="ascii") as fh:
            fh.readline()
        return LoadResult(providers=["gate"])

    def run(self, prepared: Any) -> Any:
        return None

    def first_output(self, result: Any) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)


def make_fifo(tmp_path: Path, name: str = "gate") -> str:
    """A fresh FIFO for one gate."""
    path = tmp_path / name
    os.mkfifo(path)
    return str(path)


def release(fifo: str) -> None:
    """Let the gate's load finish (blocks until its engine opened the FIFO)."""
    with open(fifo, "w", encoding="ascii") as fh:
        fh.write("go\n")


def release_if_waiting(fifo: str) -> None:
    """Release a gate whose engine is waiting now; do nothing when none is (clean-up after a failed test)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody is reading
        return
    with os.fdopen(fd, "w") as fh:
        fh.write("go\n")


@pytest.fixture
def gate_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the gate engine here and for the worker children (which read $INFBENCH_ENGINE_PLUGINS)."""
    register_engine("gate", TARGET)
    monkeypatch.setenv(PLUGIN_ENV, ",".join(filter(None, [os.environ.get(PLUGIN_ENV, ""), f"gate={TARGET}"])))
    yield
    unregister_engine("gate")
