"""The sampler thread: one clock per tick, rates, skipped ticks, sensor events, a raising monitor, prompt
stop.

The thread's pacing runs on an injected fake clock (`FakeTime`), so tick counts and timestamps are exact and
no assertion depends on how fast this machine is; one test also runs the real monitors on the real clock.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading

import pytest

from infbench.monitors.base import Monitor, Probe
from infbench.monitors.sampler import _MAX_SLEEP_S, Sampler, default_monitors
from infbench.records import MonitorReading
from tests.monitors.conftest import FakeTime, Recorder, wait_until

MS = 1_000_000


class Fake(Monitor):
    """A monitor with one sensor that counts its samples; optionally raising, or taking fake time to read."""

    def __init__(
        self,
        name: str,
        rate_hz: float,
        fail: bool = False,
        missing: dict | None = None,
        takes: tuple[FakeTime, float] | None = None,
    ) -> None:
        self.name, self.rate_hz, self.fail, self.missing = name, rate_hz, fail, missing or {}
        self.takes = takes
        self.pids: dict = {}
        self.calls = 0

    def probe(self) -> Probe:
        return Probe(self.name, ["x"], self.missing)

    def set_processes(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def sample(self, t_ns: int) -> MonitorReading:
        self.calls += 1
        if self.takes is not None:
            clock, seconds = self.takes
            clock.now += seconds
        if self.fail:
            raise RuntimeError("sensor exploded")
        return self.reading(t_ns, {f"{self.name}.x": 1.0})


def _run(
    monitors: list[Monitor], recorder: Recorder, clock: FakeTime, pids: dict[str, int] | None = None
) -> Sampler:
    """Start a sampler on the fake clock, wait until the clock reached its limit, stop it."""
    s = Sampler(monitors, recorder, clock.clock_ns, monotonic=clock.monotonic, sleep=clock.sleep)
    if pids is not None:
        s.set_processes(pids)
    s.start()
    assert clock.reached.wait(30), "the sampler thread never reached the end of the fake time"
    s.stop()
    assert not any(th.name == "infbench-sampler" and th.is_alive() for th in threading.enumerate())
    return s


def _times(recorder: Recorder, source: str) -> list[int]:
    return [r.t_ns for tick in recorder.readings for r in tick if r.source == source]


def test_thread_rates_shared_clock_and_failures(recorder) -> None:
    clock = FakeTime(start=100.0, limit=1.0)
    fast, slow = Fake("fast", 50), Fake("slow", 10, missing={"y": "no driver"})
    bad = Fake("bad", 50, fail=True)
    _run([fast, slow, bad], recorder, clock, pids={"ort": 123})
    # 1 s at 50 Hz, both ends included: ticks 0..50; the 10 Hz monitor runs on every 5th of them
    assert (fast.calls, slow.calls, bad.calls) == (51, 11, 51)  # the raising monitor is retried every tick
    assert fast.pids == {"ort": 123}
    t_fast, t_slow = _times(recorder, "fast"), _times(recorder, "slow")
    assert t_fast[0] == 100_000 * MS and t_slow == t_fast[::5]
    assert all(abs(b - a - 20 * MS) <= 1 for a, b in itertools.pairwise(t_fast))
    for tick in recorder.readings:
        assert len({r.t_ns for r in tick}) == 1  # one timestamp per tick
    messages = [e.message for e in recorder.events]
    assert "slow: y unavailable: no driver" in messages
    assert sum("bad: sampling failed: RuntimeError: sensor exploded" in m for m in messages) == 1


def test_a_slow_tick_skips_the_missed_ticks_instead_of_bursting(recorder) -> None:
    clock = FakeTime(start=100.0, limit=1.0)
    slow_read = Fake("laggy", 50, takes=(clock, 0.05))  # each reading takes 2.5 periods of 20 ms
    _run([slow_read], recorder, clock)
    t = _times(recorder, "laggy")
    # after a 50 ms reading the next tick is the next 20 ms grid point still ahead: 0, 60, 120, … 960 ms
    assert [round((x - t[0]) / MS) for x in t] == list(range(0, 1000, 60))


def test_long_periods_are_slept_in_short_chunks_so_stop_is_prompt(recorder) -> None:
    clock = FakeTime(start=100.0, limit=3.0)
    once = Fake("once", 1)
    _run([once], recorder, clock)
    assert once.calls == 4  # t = 0, 1, 2, 3 s
    assert clock.sleeps and max(clock.sleeps) == pytest.approx(_MAX_SLEEP_S)  # stop is checked between chunks


def test_default_monitors_run_for_real(recorder) -> None:
    s = Sampler(default_monitors(), recorder)
    s.start()
    s.set_processes({"me": os.getpid()})
    wanted = {"cpu.util.total", "mem.available_mb", "proc.me.rss_mb", "other.cpu_percent"}

    def seen() -> set[str]:
        with recorder.lock:
            return {k for tick in recorder.readings for r in tick for k in r.values}

    wait_until(lambda: wanted <= seen(), what=f"readings of {sorted(wanted)}")
    s.stop()
    probed = {p.monitor for p in s.probes}
    assert probed >= {"cpu", "memory", "pressure", "cpufreq", "thermal", "others", "gpu"}
    assert all(e.kind == "sensor" for e in recorder.events)
    assert not [e for e in recorder.events if "sampling failed" in e.message]


class _FailingListener(Recorder):
    """Keeps events, but every on_monitor raises (a listener bug)."""

    def on_monitor(self, readings: list) -> None:
        raise KeyError("listener bug")


def test_a_failing_listener_is_logged_once_and_recorded_as_a_log_event(caplog) -> None:
    from infbench import logs
    from infbench.sessions.store import LiveStore
    from infbench.vocab import EventKind

    clock = FakeTime(start=100.0, limit=0.2)
    listener, store = _FailingListener(), LiveStore()
    fast = Fake("fast", 50)
    with caplog.at_level(logging.DEBUG, logger="infbench.monitors.sampler"), logs.recording_warnings(store):
        _run([fast], listener, clock)
    assert fast.calls == 11  # sampling went on through every failure
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "monitor listener on_monitor failed (sampling goes on): KeyError: 'listener bug'"
    ]
    assert sum("failed again" in r.getMessage() for r in caplog.records) == 10
    logged = [e for e in store.events() if e.kind == EventKind.LOG]
    assert [(e.message, e.data["logger"]) for e in logged] == [
        (warnings[0].getMessage(), "infbench.monitors.sampler")
    ]


def test_a_raising_probe_or_sample_is_a_sensor_event_with_the_traceback_at_debug(recorder, caplog) -> None:
    class BadProbe(Fake):
        def probe(self) -> Probe:
            raise OSError("no such device")

    clock = FakeTime(start=100.0, limit=0.1)
    with caplog.at_level(logging.DEBUG, logger="infbench.monitors.sampler"):
        _run([BadProbe("gone", 50), Fake("bad", 50, fail=True)], recorder, clock)
    messages = [e.message for e in recorder.events]
    assert "gone: unavailable: probe failed: OSError: no such device" in messages
    assert sum("bad: sampling failed" in m for m in messages) == 1
    debug = {r.getMessage(): r for r in caplog.records if r.levelno == logging.DEBUG}
    assert debug["monitor gone: probe failed"].exc_info is not None
    assert debug["monitor bad: sampling failed"].exc_info is not None
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING
    ]  # the events say it; no console noise
