"""A deterministic generate run fed to a real LiveStore (no engines): per-token stamps as a generating engine
ships them, interleaved turns as the runner reports them, monitor readings with a CPU throttle.

Two variants generate `NEW_TOKENS` tokens per request at batch `BATCH` after a prompt of `PROMPT_LEN`; from
`THROTTLE_S` on, ``slow``'s inter-token gaps are `STEP`× longer (what a throttled CPU does to decoding) and the
package thermal-throttle counter rises, so detection on the ITL series finds a step attributed to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.records import BackendInfo, MonitorReading, RunEvent, SampleBlock, TurnRecord
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore

T0 = 1_000_000_000_000
S = 1_000_000_000
MS = 1_000_000
BATCH, PROMPT_LEN, NEW_TOKENS = 2, 32, 12
TTFT_NS = {"fast": 20 * MS, "slow": 30 * MS}
ITL_NS = {"fast": 4 * MS, "slow": 6 * MS}
THROTTLE_S = 8.0
STEP = 1.6
TURN_NS = 250 * MS


@dataclass
class GenRun:
    """The store and, per label, what was fed: requests' starts, TTFTs, gaps (ns) and per-request steps."""

    store: LiveStore
    starts: dict[str, list[int]] = field(default_factory=dict)
    ttfts: dict[str, list[int]] = field(default_factory=dict)
    gaps: dict[str, list[np.ndarray]] = field(default_factory=dict)
    steps: dict[str, list[int]] = field(default_factory=dict)


class _Fan:
    """Calls the method of that name of every listener that has it (a LiveStore, a Recorder…)."""

    def __init__(self, listeners: list[Any]) -> None:
        self.listeners = listeners

    def __getattr__(self, name: str) -> Any:
        return lambda *args: [getattr(x, name)(*args) for x in self.listeners if hasattr(x, name)]


def gen_plan(labels: tuple[str, ...] = ("fast", "slow"), new_tokens: int = NEW_TOKENS) -> dict:
    """A ``--task generate`` plan dict of `labels` (engine torch)."""
    wl = WorkloadSpec(batch=BATCH, task="generate", prompt_len=PROMPT_LEN, new_tokens=new_tokens)
    specs = tuple(BackendSpec("torch", label) for label in labels)
    return RunPlan(model="gpt2-tiny", backends=specs, workload=wl, duration_s=2.0, iterations=10).to_dict()


def gen_run(
    duration_s: float = 14.0,
    seed: int = 0,
    labels: tuple[str, ...] = ("fast", "slow"),
    short_every: int = 0,
    finish: bool = True,
    throttle: bool = True,
    path: Path | None = None,
    throttle_s: float = THROTTLE_S,
    each_block: Callable[[LiveStore], None] | None = None,
) -> GenRun:
    """Feed an interleaved generate run of `labels` into a LiveStore and finish it.

    `short_every` > 0: every that many requests stops 3 tokens early (EOS), to test per-request counts.
    `path`: also record the run there as a session file (the real Recorder). `throttle_s`: when the throttle
    (with `throttle`) begins. `each_block`: called with the store after each turn's block and turn are in it
    (a live view's tick).
    """
    rng = np.random.default_rng(seed)
    run = GenRun(LiveStore())
    store: Any = _Fan([run.store, *([Recorder(path)] if path is not None else [])])
    store.on_start(gen_plan(labels), {"cpu": "synthetic"}, T0, 1_700_000_000.0)
    for label in labels:
        store.on_backend(
            BackendInfo(label, "torch", {}, status="loaded", load_ms=30.0, first_inference_ms=50.0)
        )
    t, turn, k = T0 + S // 10, 0, 0
    while t < T0 + int(duration_s * S):
        label = labels[turn % len(labels)]
        phase = "warmup" if turn < len(labels) else "measure"
        base = label if label in TTFT_NS else "fast"
        t_turn, starts, durs, counts, flat = t, [], [], [], []
        while t - t_turn < TURN_NS:
            k += 1
            steps = NEW_TOKENS - (3 if short_every and k % short_every == 0 else 0)
            slow = throttle and label == "slow" and t - T0 >= throttle_s * S
            ttft = int(TTFT_NS[base] * rng.lognormal(0.0, 0.05))
            itl = ITL_NS[base] * (STEP if slow else 1.0)
            gaps = (itl * rng.lognormal(0.0, 0.05, steps - 1)).astype(np.int64)
            stamps = t + ttft + np.concatenate([[0], np.cumsum(gaps)])
            end = int(stamps[-1]) + 200_000
            starts.append(t)
            durs.append(end - t)
            counts.append(steps)
            flat.append(stamps)
            if phase == "measure":
                run.starts.setdefault(label, []).append(t)
                run.ttfts.setdefault(label, []).append(ttft)
                run.gaps.setdefault(label, []).append(gaps)
                run.steps.setdefault(label, []).append(steps)
            t = end + 50_000
        n = len(starts)
        block = SampleBlock(
            label,
            phase,
            np.array(starts, np.int64),
            np.array(durs, np.int64),
            np.zeros(n, np.int32),
            tokens=np.concatenate(flat).astype(np.int64),
            token_counts=np.array(counts, np.int32),
        )
        store.on_samples(block)
        store.on_turn(TurnRecord(label, phase, t_turn, t, n, int(sum(durs))))
        if each_block is not None:
            each_block(run.store)
        t += 1000
        turn += 1
    for i in range(int(duration_s * 10)):
        tk = T0 + i * S // 10
        hot = throttle and tk - T0 >= throttle_s * S
        vals = {
            "cpu.util.total": 50.0,
            "cpu.throttle.package_count.delta": (3 if hot else 0) if i else None,
            "cpu.freq_mhz": 1800.0 if hot else 3000.0,
            "other.cpu_percent": 2.0,
        }
        store.on_monitor([MonitorReading(tk, "synthetic", vals)])
    if finish:
        for label in labels:
            store.on_backend(
                BackendInfo(label, "torch", {}, status="done", load_ms=30.0, first_inference_ms=50.0)
            )
        store.on_event(RunEvent(t, "run_end", "run complete"))
        store.on_finish("complete")
        if path is not None:
            store.close("complete")
    return run
