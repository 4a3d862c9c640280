"""Synthetic run data fed through any RunListener (LiveStore, Recorder), deterministic."""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.records import BackendInfo, MonitorReading, RunEvent, SampleBlock, TurnRecord

T0 = 1_000_000_000_000


def plan_dict(labels: list[str], batch: int = 1, seq: int = 16) -> dict[str, Any]:
    """A plan dict like RunPlan.to_dict() for `labels`."""
    from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec

    plan = RunPlan(
        model="bert-tiny",
        backends=tuple(BackendSpec("onnxruntime", x) for x in labels),
        workload=WorkloadSpec(batch=batch, seq=seq),
        duration_s=1.0,
        iterations=10,
    )
    return plan.to_dict()


def blocks(
    label: str,
    n_blocks: int,
    per_block: int,
    median_ns: float,
    seed: int,
    t_start: int = T0,
    warmup_blocks: int = 1,
) -> list[SampleBlock]:
    """Back-to-back calls with lognormal durations and small gaps, split into blocks."""
    rng = np.random.default_rng(seed)
    n = n_blocks * per_block
    dur = (median_ns * rng.lognormal(0, 0.1, n)).astype(np.int64)
    gap = rng.integers(200, 2000, n)
    start = t_start + np.concatenate([[0], np.cumsum(dur + gap)[:-1]]).astype(np.int64)
    idx = (np.arange(n) % 64).astype(np.int32)
    out = []
    for b in range(n_blocks):
        sl = slice(b * per_block, (b + 1) * per_block)
        phase = "warmup" if b < warmup_blocks else "measure"
        out.append(SampleBlock(label, phase, start[sl].copy(), dur[sl].copy(), idx[sl].copy()))
    return out


def feed(
    listener: Any,
    labels: tuple[str, ...] = ("a", "b"),
    n_blocks: int = 20,
    per_block: int = 50,
    outcome: str | None = "complete",
) -> None:
    """Feed a whole small run into `listener` (each block is one turn of its backend)."""
    listener.on_start(plan_dict(list(labels)), {"cpu": "test", "cores": 2}, T0, 1_700_000_000.0)
    for i, label in enumerate(labels):
        info = BackendInfo(
            label,
            "onnxruntime",
            {"threads": 1},
            status="running",
            load_ms=10.0 + i,
            first_inference_ms=2.0 + i,
            rss_after_load_mb=100.0 + i,
            rss_peak_mb=110.0 + i,
            model_size_mb=4.0,
            parity={"max_abs": 1e-6 * i, "cosine": 1.0, "reference": labels[0]},
        )
        listener.on_backend(info)
    streams = [blocks(label, n_blocks, per_block, 1e6 * (1 + i), seed=i) for i, label in enumerate(labels)]
    for j in range(n_blocks):
        for s in streams:
            b = s[j]
            listener.on_samples(b)
            end = int((b.start_ns + b.dur_ns).max())
            listener.on_turn(
                TurnRecord(b.backend, b.phase, int(b.start_ns[0]), end, len(b), int(b.dur_ns.sum()))
            )
        t = T0 + j * 50_000_000
        listener.on_monitor(
            [
                MonitorReading(
                    t, "cpu", {"cpu.util.total": 50.0 + j, "cpu.name": "x", "mem.available_mb": None}
                )
            ]
        )
        if j == 1:  # as the runner writes it: one per backend, with the warm-up call count
            for label in labels:
                listener.on_event(
                    RunEvent(
                        t,
                        "warmup_end",
                        f"{label}: warm-up done ({per_block} calls)",
                        label,
                        {"calls": per_block},
                    )
                )
    listener.on_event(RunEvent(T0 + 5, "mark", "user mark"))
    for label in labels:
        listener.on_backend(
            BackendInfo(
                label,
                "onnxruntime",
                {"threads": 1},
                status="done",
                load_ms=10.0,
                first_inference_ms=2.0,
                rss_after_load_mb=100.0,
                rss_peak_mb=110.0,
            )
        )
    if outcome:
        listener.on_finish(outcome)
