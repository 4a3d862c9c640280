"""Small session files made in milliseconds for CLI tests: any labels, engines, options, statuses, workloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infbench.records import BackendInfo, RunEvent, SampleBlock, TurnRecord
from infbench.sessions.recorder import Recorder
from tests.sessions.synth import T0


@dataclass
class Backend:
    """One backend of a made session: `median_ms` None means it never measured a call."""

    engine: str = "onnxruntime"
    options: dict[str, Any] = field(default_factory=dict)
    median_ms: float | None = 1.0
    status: str = "done"
    error: str | None = None
    roles: tuple[str, ...] = ()  # `vocab.Role` values, e.g. ("aa-twin",) with `twin_of` for an A/A twin
    twin_of: str | None = None


def make_session(
    path: Path,
    backends: dict[str, Backend],
    *,
    model: str = "bert-tiny",
    batch: int = 1,
    seq: int = 16,
    seq_dist: str | None = None,
    corpus: str | None = None,
    outcome: str | None = "complete",
    events: list[RunEvent] | None = None,
    turns: int = 12,
    per: int = 100,
    seed: int = 0,
) -> Path:
    """Record an interleaved session: `turns` rounds, each backend `per` calls a turn (turns recorded)."""
    from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec

    plan = RunPlan(
        model=model,
        backends=tuple(
            BackendSpec(b.engine, label, dict(b.options), roles=b.roles, twin_of=b.twin_of)
            for label, b in backends.items()
        ),
        workload=WorkloadSpec(batch=batch, seq=seq, seq_dist=seq_dist, corpus=corpus),
        duration_s=1.0,
        iterations=10,
    ).to_dict()
    rng = np.random.default_rng(seed)
    rec = Recorder(path)
    rec.on_start(plan, {"cpu": "test"}, T0, 1_700_000_000.0)
    for label, b in backends.items():
        rec.on_backend(
            BackendInfo(
                label,
                b.engine,
                dict(b.options),
                status="running",
                load_ms=10.0,
                roles=list(b.roles),
                twin_of=b.twin_of,
            )
        )
    t = T0 + 1_000_000
    for _ in range(turns):
        for label, b in backends.items():
            if b.median_ms is None:
                continue
            dur = (b.median_ms * 1e6 * rng.lognormal(0, 0.05, per)).astype(np.int64)
            start = t + np.concatenate([[0], np.cumsum(dur + 1000)[:-1]]).astype(np.int64)
            end = int(start[-1] + dur[-1])
            rec.on_samples(SampleBlock(label, "measure", start, dur, np.zeros(per, np.int32)))
            rec.on_turn(TurnRecord(label, "measure", t, end, per, int(dur.sum())))
            t = end + 100_000
    for event in events or []:
        rec.on_event(event)
    for label, b in backends.items():
        rec.on_backend(
            BackendInfo(
                label,
                b.engine,
                dict(b.options),
                status=b.status,
                error=b.error,
                load_ms=10.0,
                roles=list(b.roles),
                twin_of=b.twin_of,
            )
        )
    rec.close(outcome)
    return path
