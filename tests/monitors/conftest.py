"""Fixture trees (copied to tmp_path so tests can bump counters) and a recording listener."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class Recorder:
    """A RunListener that keeps what the sampler sends."""

    def __init__(self) -> None:
        self.readings: list = []
        self.events: list = []
        self.lock = threading.Lock()

    def on_monitor(self, readings: list) -> None:
        with self.lock:
            self.readings.append(readings)

    def on_event(self, event) -> None:
        with self.lock:
            self.events.append(event)


@pytest.fixture
def recorder() -> Recorder:
    """A fresh recording listener."""
    return Recorder()


@pytest.fixture
def tree(tmp_path: Path):
    """`tree(name)` → a writable copy of tests/fixtures/<name> (a root for the monitors)."""

    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(FIXTURES / name, dst)
        return dst

    return copy


def write(root: Path, rel: str, text: str) -> None:
    """Overwrite one file of a fixture copy."""
    (root / rel.lstrip("/")).write_text(text)
