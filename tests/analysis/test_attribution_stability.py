"""analysis/attribution.py verdicts on a fake RunData built from arrays; analysis/stability.py warnings."""

from __future__ import annotations

import numpy as np

from infbench.analysis.attribution import attribute
from infbench.analysis.stability import modified_z, stability_warnings
from infbench.records import RunEvent

S = 1_000_000_000


class FakeRun:
    """The few RunData methods attribution uses, over metric arrays sampled at 10 Hz for 60 s."""

    def __init__(self, series: dict[str, np.ndarray | list], events: list[RunEvent] | None = None) -> None:
        self.t = np.arange(600, dtype=np.int64) * (S // 10)
        self.series = {k: v for k, v in series.items()}
        self._events = events or []

    def metrics(self) -> list[str]:
        return list(self.series)

    def monitor_series(self, metric, t0_ns=None, t1_ns=None):
        v = self.series[metric]
        m = (self.t >= (t0_ns if t0_ns is not None else -1)) & (
            self.t < (t1_ns if t1_ns is not None else 1 << 62)
        )
        if isinstance(v, list):  # strings are not numeric
            return self.t[m], np.full(int(m.sum()), np.nan)
        return self.t[m], np.asarray(v, dtype=float)[m]

    def monitor_latest(self, t_ns):
        i = int(np.searchsorted(self.t, t_ns, side="right")) - 1
        return {k: (v[i] if isinstance(v, list) else float(v[i])) for k, v in self.series.items()}

    def events(self, t0_ns=None, t1_ns=None):
        return [e for e in self._events if (t0_ns or 0) <= e.t_ns < (t1_ns or 1 << 62)]


def _flat(value: float) -> np.ndarray:
    return np.full(600, value, dtype=float)


def _during(value: float, inside: float, a_s: float = 30, b_s: float = 35) -> np.ndarray:
    x = _flat(value)
    x[int(a_s * 10) : int(b_s * 10)] = inside
    return x


WIN = (30 * S, 35 * S)


def _base() -> dict:
    return {
        "cpu.freq_mhz": _flat(3000),
        "temp.max_c": _flat(60),
        "temp.max_high_c": _flat(90),
        "cpu.throttle.core_count.delta": _flat(0),
        "other.cpu_percent": _flat(3),
        "cpu.steal": _flat(0),
        "mem.available_mb": _flat(8000),
        "mem.swap_in_mb_s": _flat(0),
        "cgroup.throttled_usec.delta": _flat(0),
        "other.top.0.name": ["sshd"] * 600,
        "other.top.0.pid": _flat(77),
        "other.top.0.cpu_percent": _flat(2),
    }


def test_cpu_burner_is_contention_naming_the_process():
    s = _base()
    s["other.cpu_percent"] = _during(3, 97)
    names = ["sshd"] * 600
    names[300:350] = ["burn.py"] * 50
    s["other.top.0.name"], s["other.top.0.pid"] = names, _during(77, 4242)
    s["other.top.0.cpu_percent"] = _during(2, 95)
    a = attribute(*WIN, FakeRun(s), backend="ort")
    assert a.verdict == "contention"
    assert any("contention: burn.py (pid 4242) at 95% CPU" in e for e in a.evidence)
    assert a.scores["thermal"] == 0 and a.to_dict()["verdict"] == "contention"


def test_temperature_and_frequency_drop_is_thermal():
    s = _base()
    s["temp.max_c"], s["cpu.freq_mhz"] = _during(60, 89), _during(3000, 2200)
    a = attribute(*WIN, FakeRun(s))
    assert a.verdict == "thermal"
    assert any("near its limit" in e for e in a.evidence) and any("MHz" in e for e in a.evidence)


def test_frequency_drop_without_thermal_signal_is_power_not_thermal():
    s = _base()
    s["cpu.freq_mhz"] = _during(3000, 2400)
    a = attribute(*WIN, FakeRun(s))
    assert a.verdict == "power" and a.scores["thermal"] == 0


def test_thermal_counter_and_gpu_bits():
    s = _base()
    s["cpu.throttle.core_count.delta"] = _during(0, 3)
    assert attribute(*WIN, FakeRun(s)).verdict == "thermal"
    g = _base()
    g["gpu0.clock_event_reasons"] = _during(4, 4 | 0x80)  # SW power cap is normal; power brake is not
    g["gpu0.clock_event_alarm"] = _during(0, 1)
    a = attribute(*WIN, FakeRun(g))
    assert a.verdict == "power" and any("GPU 0" in e for e in a.evidence)
    g["gpu0.clock_event_reasons"] = _flat(4)
    g["gpu0.clock_event_alarm"] = _flat(0)
    assert attribute(*WIN, FakeRun(g)).verdict == "unexplained"


def test_nothing_is_unexplained_and_missing_metrics_are_fine():
    assert attribute(*WIN, FakeRun(_base())).verdict == "unexplained"
    a = attribute(*WIN, FakeRun({}))
    assert a.verdict == "unexplained" and a.evidence == []


def test_steady_background_process_is_not_blamed():
    s = _base()
    s["other.cpu_percent"], s["other.top.0.cpu_percent"] = _flat(90), _flat(90)
    assert attribute(*WIN, FakeRun(s)).verdict == "unexplained"


def test_memory_quota_steal_and_gc():
    s = _base()
    s["mem.swap_in_mb_s"] = _during(0, 40)
    assert attribute(*WIN, FakeRun(s)).verdict == "memory"
    s = _base()
    s["cgroup.throttled_usec.delta"] = _during(0, 20_000)
    a = attribute(*WIN, FakeRun(s))
    assert a.verdict == "cpu-quota" and any("quota" in e for e in a.evidence)
    s = _base()
    s["cpu.steal"] = _during(0, 30)
    assert attribute(*WIN, FakeRun(s)).verdict == "contention"
    gc = [
        RunEvent(31 * S, "gc", "gc", backend="torch", data={"duration_ms": 200.0}),
        RunEvent(32 * S, "gc", "gc", backend="ort", data={"duration_ms": 500.0}),
    ]
    a = attribute(*WIN, FakeRun(_base(), gc), backend="torch")
    assert a.verdict == "gc" and any("1 garbage collection in torch, 200 ms" in e for e in a.evidence)
    assert attribute(*WIN, FakeRun(_base(), gc[:1]), backend="ort").verdict == "unexplained"


def test_stability_warnings():
    rng = np.random.default_rng(0)
    steady = (10e6 * rng.lognormal(0, 0.02, 1000)).astype(np.int64)
    assert stability_warnings(steady, first_inference_ms=12.0) == []
    w = stability_warnings(steady, first_inference_ms=55.0)
    assert len(w) == 1 and "5.5× slower: cold start" in w[0]
    assert any("iterations" in x for x in stability_warnings(steady[:10]))
    noisy = (10e6 * rng.lognormal(0, 0.3, 1000)).astype(np.int64)
    assert any("coefficient of variation" in x for x in stability_warnings(noisy))
    spiky = steady.copy()
    spiky[::10] *= 3
    assert any("outliers" in x for x in stability_warnings(spiky))
    assert stability_warnings(np.array([])) == ["no measured iterations"]
    assert modified_z(np.ones(5)).tolist() == [0.0] * 5
