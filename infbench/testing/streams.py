"""Realistic recorded runs with a known answer, for the analysis tests and benches.

A stream is what one backend's engine child and the monitors would have produced, fed through the real
`RunListener` methods (`on_start`, `on_backend`, `on_samples` in ~50 ms flushes, `on_turn`, `on_monitor`,
`on_event`, `on_finish`), so analysis reads it through the real store exactly as it reads a live run:

- **calls back to back**: each call starts when the previous one ended plus a harness floor of a few µs (and
  ~50 µs at each flush), durations log-normal with rare additive scheduler hiccups (absolute, in ms — so they
  inflate the tail of a 2 ms model and vanish on a 1 s one);
- **turns** of `turn_s` in the interleaved schedule; with `backends` > 1 this backend waits for the others'
  turns (shuffled order each round) between its own;
- **slowdowns** with a known window and face: ``slow`` (every call takes `factor`× longer: CPU contention),
  ``quota`` (a cgroup CPU quota: the process runs `1/factor` of each 100 ms period and stalls the rest, which
  hits calls and the gaps between them alike), ``gaps`` (the measuring process is descheduled between calls);
- **monitor readings** at each real producer's rate and stamping: CPU 10 Hz, pressure/cgroup and memory 2 Hz,
  CPU frequency and thermal counters 1 Hz, other processes 0.5 Hz — each stamped at the end of the interval it
  covers, deltas and utilisation missing on a monitor's first reading, the whole tick grid shifted by
  `sampler_phase_s`. A slowdown's `cause` shows in the signals its real cause moves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infbench.records import (
    PHASE_MEASURE,
    PHASE_WARMUP,
    BackendInfo,
    MonitorReading,
    SampleBlock,
    TurnRecord,
)

NS = 1_000_000_000
FLUSH_NS = 50_000_000
QUOTA_PERIOD_NS = 100_000_000
LABEL = "ort"
CAUSES = ("contention", "cgroup", "thermal", None)


@dataclass(frozen=True)
class Slowdown:
    """A planted slowdown: [t0_s, t1_s) since t=0, its face, strength and what the monitors show."""

    t0_s: float
    t1_s: float
    factor: float = 2.0
    face: str = "slow"  # slow | quota | gaps
    cause: str | None = "contention"  # contention | cgroup | thermal | None (nothing visible)


@dataclass(frozen=True)
class StreamSpec:
    """Shape of one generated run (times in seconds unless named otherwise)."""

    call_ms: float = 10.0
    sigma: float = 0.05
    hiccup_rate: float = 0.004
    hiccup_ms: float = 1.5
    duration_s: float = 60.0
    warmup_calls: int = 10
    backends: int = 1
    turn_s: float = 0.25
    periodic_s: float | None = None  # a short periodic blip (cron, log rotation) every this many seconds
    slowdowns: tuple[Slowdown, ...] = ()
    sampler_phase_s: float = 0.0
    seed: int = 0
    label: str = LABEL
    extra: dict[str, Any] = field(default_factory=dict)


class _Clock:
    """Wall time needed for an amount of work under the planted slowdowns."""

    def __init__(self, slowdowns: tuple[Slowdown, ...], t0: int) -> None:
        self.spans = sorted(
            (t0 + int(s.t0_s * NS), t0 + int(s.t1_s * NS), s)
            for s in slowdowns
            if s.face in ("slow", "quota")
        )

    def advance(self, t: int, work: float) -> int:
        """The time at which `work` ns of normal-speed work started at `t` is done."""
        for a, b, s in self.spans:
            if t >= b:
                continue
            if t < a:
                if t + work <= a:
                    return int(t + work)
                work -= a - t
                t = a
            t, work = (
                self._slow(t, work, b, s.factor)
                if s.face == "slow"
                else self._quota(t, work, b, 1.0 / s.factor)
            )
            if work <= 0:
                return int(t)
        return int(t + work)

    @staticmethod
    def _slow(t: int, work: float, b: int, factor: float) -> tuple[int, float]:
        need = work * factor
        if t + need <= b:
            return int(t + need), 0.0
        return b, work - (b - t) / factor

    @staticmethod
    def _quota(t: int, work: float, b: int, share: float) -> tuple[int, float]:
        run = int(QUOTA_PERIOD_NS * share)
        while work > 0 and t < b:
            p0 = t - t % QUOTA_PERIOD_NS
            if t < p0 + run:
                step = min(work, p0 + run - t, b - t)
                t, work = int(t + step), work - step
            else:
                t = min(p0 + QUOTA_PERIOD_NS, b)
        return t, work


def _in(spans: list[tuple[int, int, Slowdown]], t: int, face: str) -> Slowdown | None:
    for a, b, s in spans:
        if a <= t < b and s.face == face:
            return s
    return None


def _turn_gaps(spec: StreamSpec, rng: np.random.Generator) -> list[float]:
    """Seconds this backend waits before each of its turns: the other backends' turns in shuffled rounds."""
    n = spec.backends
    rounds = int(spec.duration_s / (spec.turn_s * max(n, 1))) + 4
    if n <= 1:
        return [rng.uniform(100e-6, 600e-6) for _ in range(rounds * 2)]  # the IPC round-trip between turns
    gaps, pos_prev = [], n - 1
    for _ in range(rounds):
        pos = int(rng.integers(0, n))
        gaps.append((n - 1 - pos_prev + pos) * spec.turn_s + rng.uniform(100e-6, 600e-6))
        pos_prev = pos
    return gaps


def generate(spec: StreamSpec, listener: Any, t0_ns: int = 1_000 * NS) -> None:
    """Feed one generated run of one backend to `listener` (a RunListener such as the LiveStore)."""
    rng = np.random.default_rng(spec.seed)
    label = spec.label
    plan = {
        "backends": [{"label": label, "backend": "onnxruntime", "options": {}}],
        "workload": {"batch": 1, "seq": 128},
        "schedule": "interleaved",
        "block_s": spec.turn_s,
        "duration_s": spec.duration_s,
        "generator": "infbench.testing.streams",
    }
    listener.on_start(plan, {"generator": True}, t0_ns, 1.7e9)
    listener.on_backend(
        BackendInfo(
            label=label,
            backend="onnxruntime",
            options={},
            status="running",
            load_ms=30.0,
            first_inference_ms=3 * spec.call_ms,
        )
    )
    clock = _Clock(spec.slowdowns, t0_ns)
    spans = clock.spans + [
        (t0_ns + int(s.t0_s * NS), t0_ns + int(s.t1_s * NS), s) for s in spec.slowdowns if s.face == "gaps"
    ]
    end_ns = t0_ns + int(spec.duration_s * NS)
    median_ns = spec.call_ms * 1e6
    t = t0_ns + int(0.2 * NS)
    calls = 0
    gaps = iter(_turn_gaps(spec, rng))
    while t < end_ns:
        phase = PHASE_WARMUP if calls < spec.warmup_calls else PHASE_MEASURE
        turn_start, starts, durs = t, [], []
        deadline = turn_start + int(spec.turn_s * NS)
        flush_at, busy, n_turn = t + FLUSH_NS, 0, 0
        while True:
            work = median_ns * math.exp(rng.normal(0.0, spec.sigma))
            if phase == PHASE_WARMUP:
                work *= 1.0 + 2.0 * math.exp(-calls / 3.0)
            if spec.periodic_s and ((t - t0_ns) % int(spec.periodic_s * NS)) < 50_000_000:
                work *= 1.3
            if rng.random() < spec.hiccup_rate:
                work += rng.exponential(spec.hiccup_ms * 1e6)
            e = clock.advance(t, work)
            starts.append(t)
            durs.append(e - t)
            busy += e - t
            calls += 1
            n_turn += 1
            gap = 3_000 + rng.exponential(1_500)
            g = _in(spans, e, "gaps")
            if g is not None:
                gap += rng.exponential(median_ns * (g.factor - 1.0))
            flushed = e >= flush_at
            if flushed:
                gap += 40_000
            t = clock.advance(e, gap)
            if flushed or (phase == PHASE_WARMUP and calls >= spec.warmup_calls):
                listener.on_samples(_block(label, phase, starts, durs))
                starts, durs, flush_at = [], [], t + FLUSH_NS
                if e >= deadline or phase == PHASE_WARMUP or e >= end_ns:
                    break
        if starts:
            listener.on_samples(_block(label, phase, starts, durs))
        on_turn = getattr(listener, "on_turn", None)  # like Fanout: a listener may not take turns
        if on_turn is not None:
            on_turn(TurnRecord(label, phase, turn_start, e + 2_000, n_turn, busy))
        t = e + 2_000 + int(next(gaps) * NS)
    _monitors(spec, listener, t0_ns, end_ns)
    listener.on_backend(
        BackendInfo(
            label=label,
            backend="onnxruntime",
            options={},
            status="done",
            load_ms=30.0,
            first_inference_ms=3 * spec.call_ms,
        )
    )
    listener.on_finish("complete")


def _block(label: str, phase: str, starts: list[int], durs: list[int]) -> SampleBlock:
    s = np.asarray(starts, dtype=np.int64)
    return SampleBlock(label, phase, s, np.asarray(durs, dtype=np.int64), np.zeros(s.size, np.int32))


def _overlap(spans: list[tuple[int, int, Slowdown]], a: int, b: int, cause: str) -> float:
    """Fraction of (a, b] covered by planted slowdowns whose cause is `cause`."""
    got = sum(max(0, min(b, e) - max(a, s)) for s, e, sd in spans if sd.cause == cause)
    return min(1.0, got / max(b - a, 1))


def _monitors(spec: StreamSpec, listener: Any, t0: int, end: int) -> None:
    """Readings of every producer at its own rate, stamped at the end of the interval each one covers."""
    rng = np.random.default_rng(spec.seed + 77)
    spans = [(t0 + int(s.t0_s * NS), t0 + int(s.t1_s * NS), s) for s in spec.slowdowns]
    phase = int(spec.sampler_phase_s * NS)
    readings: list[MonitorReading] = []
    producers = (("cpu", 0.1), ("pressure", 0.5), ("memory", 0.5), ("thermal", 1.0), ("others", 2.0))
    for name, period_s in producers:
        period = int(period_s * NS)
        first = True
        t_prev = t0 + phase % period
        for t in range(t_prev, end + period, period):
            a = t - period
            v: dict[str, float | str | None] = {}
            busy_others = _overlap(spans, a, t, "contention")
            quota = _overlap(spans, a, t, "cgroup")
            hot = _overlap(spans, a, t, "thermal")
            if name == "cpu":
                v = {
                    "cpu.util.total": None if first else round(50 + 50 * busy_others + rng.uniform(-2, 2), 2),
                    "cpu.steal": None if first else 0.0,
                }
            elif name == "pressure":
                v = {
                    "cgroup.throttled_usec": 0.0,
                    "cgroup.throttled_usec.delta": None if first else quota * period / 1e3 * 0.7,
                    "cgroup.nr_throttled.delta": None if first else quota * period / QUOTA_PERIOD_NS,
                }
            elif name == "memory":
                v = {"mem.available_mb": 20_000.0 + rng.uniform(-50, 50)}
            elif name == "thermal":
                v = {
                    "cpu.freq_mhz": 2450.0 * (1 - 0.2 * hot) + rng.uniform(-5, 5),
                    "cpu.throttle.core_count.delta": None if first else float(round(40 * hot)),
                }
            else:
                v = {
                    "other.cpu_percent": None
                    if first
                    else round(3 + 195 * busy_others + rng.uniform(0, 2), 2)
                }
                if not first and busy_others > 0:
                    v.update(
                        {
                            "other.top.0.name": "burn",
                            "other.top.0.pid": 4242.0,
                            "other.top.0.cpu_percent": round(195 * busy_others, 2),
                        }
                    )
                elif not first:
                    v.update(
                        {"other.top.0.name": "sshd", "other.top.0.pid": 311.0, "other.top.0.cpu_percent": 1.0}
                    )
            readings.append(MonitorReading(t, name, v))
            first = False
    readings.sort(key=lambda r: r.t_ns)
    for r in readings:
        listener.on_monitor([r])


def generate_store(spec: StreamSpec) -> Any:
    """A LiveStore holding one generated run (the real store the live analysis reads)."""
    from infbench.sessions.store import LiveStore

    store = LiveStore()
    generate(spec, store)
    return store


def planted_windows(spec: StreamSpec, t0_ns: int = 1_000 * NS) -> list[tuple[int, int]]:
    """The planted slowdowns as absolute [t0_ns, t1_ns) windows."""
    return [(t0_ns + int(s.t0_s * NS), t0_ns + int(s.t1_s * NS)) for s in spec.slowdowns]
