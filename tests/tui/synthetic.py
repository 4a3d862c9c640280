"""A deterministic LiveStore fed with synthetic data: three backends, monitors, events (no engines).

Every turn is reported as the runner reports it (a `TurnRecord` after its samples), and every event carries
the payload its real producer writes: ``warmup_end`` as `Runner._warmup_all` (one per backend when its own
warm-up ends, ``calls=n``), ``spike`` as `LiveAnalysis` (the `Spike` fields, ``t_end_ns`` and an
``attribution``), ``throttle_on``/``throttle_off`` from the real `ThrottleTracker` fed thermal readings
(keyed by ``signal``), and the ``sensor`` notice from the sampler's real `sensor_events`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from infbench.analysis.attribution import Attribution
from infbench.analysis.findings import cause_text
from infbench.analysis.spikes import Spike
from infbench.monitors.base import Probe
from infbench.monitors.sampler import sensor_events
from infbench.monitors.throttle import ThrottleTracker
from infbench.plan.spec import BackendSpec, RunPlan
from infbench.records import BackendInfo, MonitorReading, RunEvent, SampleBlock, TurnRecord
from infbench.sessions.store import LiveStore
from infbench.vocab import Role

T0 = 1_000_000_000_000
S = 1_000_000_000
THROTTLE_S = (4.0, 4.5)  # the CPU thermal throttle counter rises in readings at t ∈ [4.0, 4.5) s
SPIKE_S = (3.0, 3.5)  # openvino's calls starting in this window are 3× slower
CRASH_S = 2.0  # synthetic_run(crash=…): torch crashes here


@dataclass
class SyntheticRun:
    """The store, and the calls it was fed (label → phase → (start_ns, dur_ns)) to compute expectations."""

    store: LiveStore
    calls: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def add(self, label: str, phase: str, start: np.ndarray, dur: np.ndarray) -> None:
        """Remember one block of calls."""
        per = self.calls.setdefault(label, {})
        old_s, old_d = per.get(phase, (np.empty(0, np.int64), np.empty(0, np.int64)))
        per[phase] = (np.concatenate([old_s, start]), np.concatenate([old_d, dur]))

    def measured(self, label: str, upto_ns: int | None = None) -> np.ndarray:
        """Durations (ns) of `label`'s measured calls starting at or before `upto_ns` (None: all)."""
        start, dur = self.calls[label]["measure"]
        return dur if upto_ns is None else dur[start <= upto_ns]


def synthetic_run(
    duration_s: float = 6.0, seed: int = 0, finish: bool = True, crash: str | None = None
) -> SyntheticRun:
    """A finished (or still running) interleaved run of onnxruntime/openvino/null, a spike and a throttle.

    `crash`: a fourth backend, torch (~12 ms a call), runs too and crashes at `CRASH_S` with this reason (its
    info turns ``failed`` and an ``engine_error`` event is recorded, as `Runner._fail` does).
    """
    rng = np.random.default_rng(seed)
    specs = (
        BackendSpec("onnxruntime", "onnxruntime"),
        BackendSpec("openvino", "openvino"),
        BackendSpec("null", "null", roles=(Role.CONTROL,)),  # as the null engine declares
        *((BackendSpec("torch", "torch"),) if crash else ()),
    )
    plan = RunPlan(model="bert-tiny", backends=specs, duration_s=2.0, iterations=10)
    store = LiveStore()
    run = SyntheticRun(store)
    store.on_start(plan.to_dict(), {"cpu": "synthetic"}, T0, 1_700_000_000.0)
    base = {"onnxruntime": 2_000_000, "openvino": 1_500_000, "null": 2_000}
    if crash:
        base["torch"] = 12_000_000
    roles = {spec.label: [str(r) for r in spec.roles] for spec in specs}  # copied to the infos, as the runner
    for label in base:
        store.on_backend(
            BackendInfo(
                label, label, {}, status="loaded", load_ms=30.0, first_inference_ms=5.0, roles=roles[label]
            )
        )
    for event in sensor_events([Probe("gpu", [], {"gpu": "NVML Shared Library Not Found"})], T0 + 1):
        store.on_event(event)
    t = T0 + S // 10
    turn = 0
    order = list(base)
    spiked = False
    while t < T0 + int(duration_s * S):
        if crash and "torch" in order and t - T0 >= CRASH_S * S:
            order.remove("torch")  # as Runner._fail: failed info, then the engine_error event
            store.on_backend(
                BackendInfo(
                    "torch", "torch", {}, status="failed", error=crash, load_ms=30.0, first_inference_ms=5.0
                )
            )
            store.on_event(RunEvent(t, "engine_error", crash, "torch"))
        label = order[turn % len(order)]
        phase = "warmup" if turn < len(base) else "measure"
        n = 40 if label != "null" else 2000
        dur = (base[label] * rng.lognormal(0.0, 0.1, n)).astype(np.int64)
        slow = label == "openvino" and SPIKE_S[0] * S < t - T0 < SPIKE_S[1] * S
        if slow:
            dur = dur * 3
        start = t + np.concatenate([[0], np.cumsum(dur[:-1] + 500)])
        store.on_samples(SampleBlock(label, phase, start.astype(np.int64), dur, np.zeros(n, np.int32)))
        run.add(label, phase, start.astype(np.int64), dur)
        end = int(start[-1] + dur[-1])
        store.on_turn(TurnRecord(label, phase, t, end, n, int(dur.sum())))  # as Runner._report_turn
        if phase == "warmup":  # as Runner._warmup_all: each backend's own warm-up end, with its call count
            store.on_event(
                RunEvent(end, "warmup_end", f"{label}: warm-up done ({n} calls)", label, {"calls": n})
            )
        if slow and not spiked:  # as LiveAnalysis: the Spike's fields, its end and the attribution
            spiked = True
            spike = Spike(t, end, label, severity=12.0, ratio=3.0, metric="median")
            attr = Attribution("contention", ["contention: other processes at 95% CPU"], {"contention": 1.0})
            what = f"{label}: latency spike ×3.00 (median) — {cause_text(attr.to_dict())}"
            detail = {**spike.to_dict(), "t_end_ns": end, "attribution": attr.to_dict()}
            store.on_event(RunEvent(t, "spike", what, label, detail))
        t = end + 1000
        turn += 1
    tracker = ThrottleTracker()
    for k in range(int(duration_s * 10)):
        tk = T0 + k * S // 10
        vals = {
            "cpu.util.total": 50.0 + k % 7,
            "cpu.util.0": 90.0,
            "cpu.util.1": 10.0 + k % 5,
            "cpu.load1": 1.5,
            "cpu.steal": 0.0,
            "mem.used_mb": 3000.0 + k,
            "mem.available_mb": 5000.0,
            "mem.percent": 37.5,
            "mem.swap_used_mb": 0.0,
            "proc.onnxruntime.rss_mb": 210.0,
            "proc.openvino.rss_mb": 260.0,
            "proc.null.rss_mb": 40.0,
            "other.cpu_percent": 3.0,
        }
        readings = [MonitorReading(tk, "synthetic", vals)]
        if k % 5 == 0:  # thermal at 2 Hz: the package throttle counter rises inside THROTTLE_S
            rising = THROTTLE_S[0] * S <= tk - T0 < THROTTLE_S[1] * S
            readings.append(
                MonitorReading(
                    tk,
                    "thermal",
                    {
                        "temp.max_c": 80.0,
                        "cpu.throttle.core_count.delta": 0 if k else None,
                        "cpu.throttle.package_count.delta": (2 if rising else 0) if k else None,
                    },
                )
            )
        store.on_monitor(readings)
        for event in tracker.update(readings):  # the real producer of throttle_on / throttle_off
            store.on_event(event)
    store.on_event(RunEvent(T0 + 2 * S, "mark", "user mark: opened a browser"))
    if finish:
        for label in order:
            store.on_backend(
                BackendInfo(
                    label, label, {}, status="done", load_ms=30.0, first_inference_ms=5.0, roles=roles[label]
                )
            )
        store.on_event(RunEvent(t, "run_end", "run complete"))
        store.on_finish("complete")
    return run


def synthetic_store(
    duration_s: float = 6.0, seed: int = 0, finish: bool = True, crash: str | None = None
) -> LiveStore:
    """The store of `synthetic_run`."""
    return synthetic_run(duration_s, seed, finish, crash).store
