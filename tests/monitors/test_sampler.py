"""The sampler thread: one clock per tick, rates, sensor events, a raising monitor, prompt stop."""

from __future__ import annotations

import os
import time

from infbench.monitors.base import Monitor, Probe
from infbench.monitors.sampler import Sampler, default_monitors


class Fake(Monitor):
    def __init__(self, name: str, rate_hz: float, fail: bool = False, missing: dict | None = None) -> None:
        self.name, self.rate_hz, self.fail, self.missing = name, rate_hz, fail, missing or {}
        self.pids: dict = {}
        self.calls = 0

    def probe(self) -> Probe:
        return Probe(self.name, ["x"], self.missing)

    def set_processes(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def sample(self, t_ns: int):
        self.calls += 1
        if self.fail:
            raise RuntimeError("sensor exploded")
        return self.reading(t_ns, {f"{self.name}.x": 1.0})


def test_thread_rates_shared_clock_failures_and_prompt_stop(recorder) -> None:
    fast, slow = Fake("fast", 50), Fake("slow", 10, missing={"y": "no driver"})
    bad = Fake("bad", 50, fail=True)
    s = Sampler([fast, slow, bad], recorder)
    s.start()
    s.set_processes({"ort": 123})
    time.sleep(0.35)
    t = time.perf_counter()
    s.stop()
    assert time.perf_counter() - t < 0.5
    assert not any(th.name == "infbench-sampler" and th.is_alive() for th in __import__("threading").enumerate())
    assert fast.calls > slow.calls >= 2 and bad.calls >= 5  # the raising monitor is retried, the rest go on
    assert fast.pids == {"ort": 123}
    messages = [e.message for e in recorder.events]
    assert "slow: y unavailable: no driver" in messages
    assert sum("bad: sampling failed: RuntimeError: sensor exploded" in m for m in messages) == 1
    for tick in recorder.readings:
        assert len({r.t_ns for r in tick}) == 1
    assert any({r.source for r in tick} == {"fast", "slow"} for tick in recorder.readings)


def test_default_monitors_run_for_real(recorder) -> None:
    s = Sampler(default_monitors(), recorder)
    s.start()
    s.set_processes({"me": os.getpid()})
    time.sleep(1.2)
    s.stop()
    assert {p.monitor for p in s.probes} >= {"cpu", "memory", "pressure", "cpufreq", "thermal", "others", "gpu"}
    values = {k: v for tick in recorder.readings for r in tick for k, v in r.values.items()}
    assert "cpu.util.total" in values and "mem.available_mb" in values and "proc.me.rss_mb" in values
    assert "other.cpu_percent" in values
    assert all(e.kind == "sensor" for e in recorder.events)
    assert not [e for e in recorder.events if "sampling failed" in e.message]
