"""A deterministic LiveStore fed with synthetic data: three backends, monitors, events (no engines)."""

from __future__ import annotations

import numpy as np

from infbench.config import BackendSpec, RunPlan
from infbench.records import BackendInfo, MonitorReading, RunEvent, SampleBlock
from infbench.sessions.store import LiveStore

T0 = 1_000_000_000_000
S = 1_000_000_000


def synthetic_store(duration_s: float = 6.0, seed: int = 0, finish: bool = True) -> LiveStore:
    """A finished (or still running) interleaved run of onnxruntime/openvino/null with a spike and a throttle."""
    rng = np.random.default_rng(seed)
    specs = (BackendSpec("onnxruntime", "onnxruntime"), BackendSpec("openvino", "openvino"),
             BackendSpec("null", "null"))
    plan = RunPlan(model="bert-tiny", backends=specs, duration_s=2.0, iterations=10)
    store = LiveStore()
    store.on_start(plan.to_dict(), {"cpu": "synthetic"}, T0, 1_700_000_000.0)
    base = {"onnxruntime": 2_000_000, "openvino": 1_500_000, "null": 2_000}
    for label in base:
        store.on_backend(BackendInfo(label, label, {}, status="loaded", load_ms=30.0, first_inference_ms=5.0))
    store.on_event(RunEvent(T0 + 1, "sensor", "gpu: unavailable: NVML Shared Library Not Found"))
    t = T0 + S // 10
    turn = 0
    order = list(base)
    while t < T0 + int(duration_s * S):
        label = order[turn % 3]
        phase = "warmup" if turn < 3 else "measure"
        n = 40 if label != "null" else 2000
        dur = (base[label] * rng.lognormal(0.0, 0.1, n)).astype(np.int64)
        if label == "openvino" and 3 * S < t - T0 < 3.5 * S:
            dur = dur * 3
            store.on_event(RunEvent(t, "spike", "openvino: spike ×3 (cause: contention)", "openvino"))
        start = t + np.concatenate([[0], np.cumsum(dur[:-1] + 500)])
        store.on_samples(SampleBlock(label, phase, start.astype(np.int64), dur, np.zeros(n, np.int32)))
        if turn == 2:
            for lab in base:
                store.on_event(RunEvent(int(start[-1]), "warmup_end", f"{lab}: warm-up done (40 calls)", lab))
        t = int(start[-1] + dur[-1]) + 1000
        turn += 1
    for k in range(int(duration_s * 10)):
        tk = T0 + k * S // 10
        vals = {"cpu.util.total": 50.0 + k % 7, "cpu.util.0": 90.0, "cpu.util.1": 10.0 + k % 5,
                "cpu.load1": 1.5, "cpu.steal": 0.0, "mem.used_mb": 3000.0 + k, "mem.available_mb": 5000.0,
                "mem.percent": 37.5, "mem.swap_used_mb": 0.0, "proc.onnxruntime.rss_mb": 210.0,
                "proc.openvino.rss_mb": 260.0, "proc.null.rss_mb": 40.0, "other.cpu_percent": 3.0}
        store.on_monitor([MonitorReading(tk, "synthetic", vals)])
    store.on_event(RunEvent(T0 + 4 * S, "throttle_on", "cpu: throttle counter rising", data={"source": "cpu"}))
    store.on_event(RunEvent(T0 + 4 * S + S // 2, "throttle_off", "cpu: throttle over", data={"source": "cpu"}))
    store.on_event(RunEvent(T0 + 2 * S, "mark", "user mark: opened a browser"))
    if finish:
        for label in base:
            store.on_backend(BackendInfo(label, label, {}, status="done", load_ms=30.0, first_inference_ms=5.0))
        store.on_event(RunEvent(t, "run_end", "run complete"))
        store.on_finish("complete")
    return store
