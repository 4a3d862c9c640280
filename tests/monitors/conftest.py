"""Fixture trees (copied to tmp_path so tests can bump counters), a recording listener, a fake sampler
clock."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
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


class FakeTime:
    """A fake pacing clock for `Sampler`: its `sleep` advances `monotonic` instantly, for `limit` seconds.

    The sampler thread then runs its real loop as fast as the CPU allows, ticking exactly on its schedule.
    Once the clock has reached `start + limit` it stops advancing: the thread keeps calling `sleep` without
    ever reaching another tick (each such call yields 1 ms of real time so the test thread runs), `reached` is
    set, and the test stops the sampler. No assertion depends on real time.
    """

    def __init__(self, start: float = 100.0, limit: float = 1.0) -> None:
        self.start = start
        self.now = start
        self.limit = start + limit
        self.sleeps: list[float] = []
        self.reached = threading.Event()
        self._idle = threading.Event()  # never set: waiting on it is a 1 ms yield

    def monotonic(self) -> float:
        """The fake time, in seconds (a loop that runs away past the limit without sleeping is let go too)."""
        if self.now > self.limit + 1.0:
            self.reached.set()
        return self.now

    def clock_ns(self) -> int:
        """The same fake time in ns: the timestamp the sampler stamps its readings with."""
        return round(self.now * 1e9)

    def sleep(self, seconds: float) -> None:
        """Advance the fake time by `seconds`; once at the limit, advance no more and say so."""
        if self.now >= self.limit:
            self.reached.set()
            self._idle.wait(0.001)
            return
        self.sleeps.append(seconds)
        self.now += seconds


def wait_until(cond: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `cond` until it holds (a hang guard only: `timeout` is never part of what a test asserts)."""
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        done.wait(0.01)
