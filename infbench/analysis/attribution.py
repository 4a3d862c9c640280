"""Why a latency window went wrong: monitor readings and events overlapping it, turned into a verdict.

Each cause gets a score in [0, 1] from the signals seen in the window compared with the `baseline_s` seconds
before it. The verdict is the best cause scoring at least 0.5, else ``unexplained``. ``thermal`` needs a
thermal signal (throttle counter, temperature near its limit, GPU thermal bit or thermal violation time) inside
the window: a frequency drop alone is reported as ``power``. ``cpu-quota`` is the cgroup's CPU quota (the
kernel stalled our processes); ``contention`` is other processes or the hypervisor taking the CPU.

A reading is stamped at the end of the interval it covers (utilisation, deltas, other processes' CPU), so a
sensor read up to one of its sampling periods after the slow window still speaks about it: each metric's
window is extended by its own period, measured from its timestamps.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infbench.sessions.data import RunData

CAUSES = ("thermal", "power", "cpu-quota", "contention", "memory", "gc")  # also the tie-break order
UNEXPLAINED = "unexplained"
GPU_THERMAL_BITS = 0x20 | 0x40  # SW thermal slowdown, HW thermal slowdown
GPU_POWER_BITS = 0x08 | 0x80  # HW slowdown, HW power brake (SW power cap 0x4 is normal under load)
_GPU_RE = re.compile(r"^gpu(\d+)\.")


@dataclass(frozen=True)
class Attribution:
    """Verdict for one latency window, with human-readable evidence and per-cause scores in [0, 1]."""

    verdict: str
    evidence: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


MAX_LAG_NS = 5_000_000_000


class _Window:
    """Metric look-ups in the window (extended by each sensor's sampling period) and in its baseline."""

    def __init__(self, data: RunData, t0: int, t1: int, base0: int, margin: int) -> None:
        self.data, self.t0, self.t1, self.base0, self.margin = data, t0, t1, base0, margin
        self.names = set(data.metrics())
        self._lags: dict[str, int] = {}

    def _vals(self, metric: str, a: int, b: int) -> np.ndarray:
        if metric not in self.names:
            return np.empty(0)
        v = np.asarray(self.data.monitor_series(metric, a, b)[1], dtype=np.float64)
        return v[np.isfinite(v)]

    def lag(self, metric: str) -> int:
        """The sensor's sampling period (ns): how late a reading about the window can be stamped."""
        if metric not in self._lags:
            t = np.asarray(
                self.data.monitor_series(metric, self.t0 - MAX_LAG_NS * 4, self.t1 + MAX_LAG_NS)[0]
                if metric in self.names
                else np.empty(0),
                dtype=np.int64,
            )
            period = float(np.median(np.diff(t))) if t.size >= 2 else 0.0
            self._lags[metric] = int(min(max(period, 0.0), MAX_LAG_NS))
        return self._lags[metric]

    def win(self, metric: str) -> np.ndarray:
        # Causes often show up a little before the slow blocks (a burner starting), and a reading covering the
        # window's end is stamped up to one sampling period after it.
        return self._vals(metric, self.t0 - self.margin, self.t1 + self.lag(metric) + 1)

    def base(self, metric: str) -> np.ndarray:
        return self._vals(metric, self.base0, self.t0 - self.margin)


def _med(v: np.ndarray) -> float | None:
    return float(np.median(v)) if v.size else None


def _max(v: np.ndarray) -> float | None:
    return float(v.max()) if v.size else None


def _sum(v: np.ndarray) -> float:
    return float(v.sum()) if v.size else 0.0


def _score_thermal_and_power(w: _Window, ev: list[str], sc: dict[str, float]) -> None:
    freq_w, freq_b = _med(w.win("cpu.freq_mhz")), _med(w.base("cpu.freq_mhz"))
    drop = 0.0
    if freq_w is not None and freq_b:
        drop = 1.0 - freq_w / freq_b
        if drop >= 0.05:
            ev.append(f"CPU frequency {freq_b:.0f} → {freq_w:.0f} MHz ({-100 * drop:.0f} %)")
    thermal = 0.0
    for name, label in (
        ("cpu.throttle.core_count.delta", "core"),
        ("cpu.throttle.package_count.delta", "package"),
    ):
        n = _sum(w.win(name))
        if n > 0:
            thermal = 1.0
            ev.append(f"CPU {label} thermal-throttle counter +{n:.0f}")
    t_max, t_high = w.win("temp.max_c"), _med(w.win("temp.max_high_c"))
    if t_max.size and t_high:
        peak = float(t_max.max())
        if peak >= t_high - 5.0:
            thermal = max(thermal, 1.0 if peak >= t_high - 2.0 else 0.7)
            ev.append(f"temperature {peak:.0f} °C near its limit {t_high:.0f} °C")
    power = 0.0
    for gpu in sorted({m.group(1) for m in map(_GPU_RE.match, w.names) if m}):
        bits = w.win(f"gpu{gpu}.clock_event_reasons")
        mask = int(np.bitwise_or.reduce(bits.astype(np.int64))) if bits.size else 0
        if mask & GPU_THERMAL_BITS:
            thermal = 1.0
            ev.append(f"GPU {gpu} thermal slowdown (clock-event reasons 0x{mask:x})")
        if mask & GPU_POWER_BITS:
            power = max(power, 1.0)
            ev.append(f"GPU {gpu} hardware slowdown / power brake (clock-event reasons 0x{mask:x})")
        if not mask & (GPU_THERMAL_BITS | GPU_POWER_BITS) and _sum(w.win(f"gpu{gpu}.clock_event_alarm")) > 0:
            power = max(power, 0.5)
            ev.append(f"GPU {gpu} clock-event alarm")
        th_us = _sum(w.win(f"gpu{gpu}.violation.thermal_us.delta"))
        if th_us > 0:
            thermal = 1.0
            ev.append(f"GPU {gpu} throttled for thermal reasons {th_us / 1e3:.0f} ms")
        pw_w = w.win(f"gpu{gpu}.violation.power_us.delta")
        pw_b = _med(w.base(f"gpu{gpu}.violation.power_us.delta")) or 0.0
        if pw_w.size and float(np.median(pw_w)) > 2.0 * pw_b + 1e3:  # more than usual at this load
            power = max(power, 0.7)
            ev.append(
                f"GPU {gpu} at its power limit {_sum(pw_w) / 1e3:.0f} ms (baseline {pw_b / 1e3:.0f} ms/sample)"
            )
    if drop >= 0.05:
        if thermal > 0:
            thermal = 1.0
        else:
            power = max(power, min(1.0, drop / 0.1))
    sc["thermal"], sc["power"] = thermal, power


def _top_processes(w: _Window) -> list[tuple[str, int | None, float]]:
    best: dict[tuple[str, int | None], float] = {}
    lag = w.lag("other.cpu_percent")
    for t in (w.t0 + (w.t1 - w.t0) // 2, w.t1 - 1, w.t1 + lag):
        latest: dict[str, Any] = w.data.monitor_latest(t)
        for k in range(10):
            name, cpu = latest.get(f"other.top.{k}.name"), latest.get(f"other.top.{k}.cpu_percent")
            if name is None or not isinstance(cpu, (int, float)):
                continue
            pid = latest.get(f"other.top.{k}.pid")
            key = (str(name), int(pid) if isinstance(pid, (int, float)) else None)
            best[key] = max(best.get(key, 0.0), float(cpu))
    return sorted(((n, p, c) for (n, p), c in best.items()), key=lambda x: -x[2])


def _busiest_group(top: list[tuple[str, int | None, float]]) -> tuple[str, list, float] | None:
    """The process name with the most CPU among the top processes, summed over its processes (a `make -j` or a
    pool of workers is one cause even when no single process stands out): (name, pids, total CPU %)."""
    groups: dict[str, tuple[list, float]] = {}
    for name, pid, cpu in top:
        pids, total = groups.get(name, ([], 0.0))
        groups[name] = ([*pids, pid] if pid is not None else pids, total + cpu)
    if not groups:
        return None
    name, (pids, total) = max(groups.items(), key=lambda kv: kv[1][1])
    return name, pids or [None], total


def _score_contention(w: _Window, ev: list[str], sc: dict[str, float]) -> None:
    score = 0.0
    # the busiest reading covering the window: a short slowdown is one reading among several
    other_w, other_b = _max(w.win("other.cpu_percent")), _med(w.base("other.cpu_percent"))
    rise = (other_w or 0.0) - (other_b or 0.0)
    top = _top_processes(w)
    if other_w is not None and rise >= 25.0:
        score = min(1.0, rise / 50.0)
        ev.append(f"other processes' CPU {other_b or 0:.0f} % → {other_w:.0f} %")
    group = _busiest_group(top)
    if group is not None and group[2] >= 25.0 and (score > 0 or other_w is None):
        name, pids, cpu = group
        score = max(score, min(1.0, cpu / 50.0))
        who = (
            f"{name} (pid {pids[0]})"
            if len(pids) == 1
            else f"{name} ×{len(pids)} (pids {', '.join(map(str, pids))})"
        )
        ev.append(f"contention: {who} at {cpu:.0f}% CPU")
    steal_w, steal_b = _med(w.win("cpu.steal")), _med(w.base("cpu.steal")) or 0.0
    if steal_w is not None and steal_w - steal_b >= 5.0:
        score = max(score, min(1.0, (steal_w - steal_b) / 10.0))
        ev.append(f"hypervisor steal {steal_b:.0f} % → {steal_w:.0f} %")
    sc["contention"] = score


def _score_quota(w: _Window, ev: list[str], sc: dict[str, float]) -> None:
    thr = _sum(w.win("cgroup.throttled_usec.delta"))
    base = w.base("cgroup.throttled_usec.delta")
    usual = float(np.median(base)) if base.size else 0.0
    periods = max(1, w.win("cgroup.throttled_usec.delta").size)
    sc["cpu-quota"] = 0.0
    if thr > 0 and thr / periods > 2.0 * usual:
        sc["cpu-quota"] = 1.0
        ev.append(f"cpu-quota: cgroup CPU quota throttled our processes {thr / 1e3:.0f} ms")


def _score_memory(w: _Window, ev: list[str], sc: dict[str, float], backend: str | None) -> None:
    score = 0.0
    swap = w.win("mem.swap_in_mb_s")
    if swap.size and float(swap.max()) > 0.0:
        score = 1.0
        ev.append(f"swapping in up to {float(swap.max()):.1f} MB/s")
    avail_w, avail_b = w.win("mem.available_mb"), _med(w.base("mem.available_mb"))
    if avail_w.size and avail_b and float(avail_w.min()) < 0.5 * avail_b:
        score = max(score, 0.7)
        ev.append(f"available memory {avail_b:.0f} → {float(avail_w.min()):.0f} MB")
    if backend is not None:
        faults = _sum(w.win(f"proc.{backend}.major_faults.delta"))
        if faults >= 10:
            score = max(score, 0.7)
            ev.append(f"{faults:.0f} major page faults in {backend}")
    sc["memory"] = score


def _score_gc(w: _Window, ev: list[str], sc: dict[str, float], backend: str | None) -> None:
    gcs = [
        e
        for e in w.data.events(w.t0 - w.margin, w.t1)
        if e.kind == "gc" and (backend is None or e.backend in (None, backend))
    ]
    total_ms = sum(float(e.data.get("duration_ms", 0.0)) for e in gcs)
    window_ms = max((w.t1 - w.t0) / 1e6, 1.0)
    sc["gc"] = min(1.0, 20.0 * total_ms / window_ms) if gcs else 0.0  # 2.5 % of the window in GC → 0.5
    if gcs:
        who = f" in {backend}" if backend else ""
        ev.append(f"{len(gcs)} garbage collection{'s' if len(gcs) > 1 else ''}{who}, {total_ms:.0f} ms total")


def attribute(
    window_t0_ns: int,
    window_t1_ns: int,
    data: RunData,
    backend: str | None = None,
    baseline_s: float = 5.0,
    margin_s: float = 1.0,
) -> Attribution:
    """Verdict for the latency window [t0, t1): ``thermal`` | ``power`` | ``cpu-quota`` | ``contention`` |
    ``memory`` | ``gc`` | ``unexplained``, with evidence strings and scores.

    Signals are taken in [t0 - `margin_s`, t1 + the sensor's period] and compared with the `baseline_s` seconds
    before that.
    `data` needs only `metrics()`, `monitor_series()`, `monitor_latest()` and `events()` of RunData.
    """
    margin = int(margin_s * 1e9)
    w = _Window(
        data, int(window_t0_ns), int(window_t1_ns), int(window_t0_ns - margin - baseline_s * 1e9), margin
    )
    evidence: list[str] = []
    scores: dict[str, float] = {}
    _score_thermal_and_power(w, evidence, scores)
    _score_contention(w, evidence, scores)
    _score_quota(w, evidence, scores)
    _score_memory(w, evidence, scores, backend)
    _score_gc(w, evidence, scores, backend)
    best = max(CAUSES, key=lambda c: (scores.get(c, 0.0), -CAUSES.index(c)))
    verdict = best if scores.get(best, 0.0) >= 0.5 else UNEXPLAINED
    return Attribution(verdict, evidence, {c: round(scores.get(c, 0.0), 3) for c in CAUSES})
