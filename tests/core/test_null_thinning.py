"""The null control keeps a uniform sample of its calls for the recording; progress still sees every call."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.engines.null import keep_rate, thin_block
from infbench.plan.spec import BackendSpec, RunPlan
from infbench.records import PHASE_MEASURE, PHASE_WARMUP, Fanout, SampleBlock
from infbench.run.recorded_run import SampleGate, thinned_backends


def null_block(n: int, per_call_ns: int = 50, label: str = "null", phase: str = PHASE_MEASURE) -> SampleBlock:
    rng = np.random.default_rng(3)
    dur = rng.integers(per_call_ns - 10, per_call_ns + 10, n).astype(np.int64)
    start = np.arange(n, dtype=np.int64) * (per_call_ns + 20)
    return SampleBlock(label, phase, start, dur, (np.arange(n) % 64).astype(np.int32))


def test_thin_block_keeps_a_time_ordered_uniform_sample_at_the_asked_rate():
    block = null_block(1_000_000)  # 70 ms of calls
    small = thin_block(block, 10_000, np.random.default_rng(0))
    assert len(small) == 700
    assert np.all(np.diff(small.start_ns) > 0)
    assert set(small.start_ns.tolist()) <= set(block.start_ns.tolist())
    pos = np.searchsorted(block.start_ns, small.start_ns)
    assert np.array_equal(small.dur_ns, block.dur_ns[pos]) and np.array_equal(
        small.input_idx, block.input_idx[pos]
    )
    assert np.median(small.dur_ns) == pytest.approx(np.median(block.dur_ns), abs=1)
    slow = null_block(100, per_call_ns=1_000_000)  # 100 calls in 0.1 s: under 10 000 a second
    assert thin_block(slow, 10_000, np.random.default_rng(0)) is slow


class Collect:
    def __init__(self) -> None:
        self.blocks: list[SampleBlock] = []
        self.events: list = []
        self.finished: str | None = None

    def on_samples(self, block: SampleBlock) -> None:
        self.blocks.append(block)

    def on_event(self, event) -> None:
        self.events.append(event)

    def on_finish(self, outcome: str) -> None:
        self.finished = outcome


def test_gate_thins_measured_null_blocks_for_the_recording_only():
    recording, progress = Collect(), Collect()
    gate = SampleGate(Fanout(recording, progress), {"null": 10_000}, full=(progress,))
    big = null_block(1_000_000)
    gate.on_samples(big)
    gate.on_samples(null_block(1_000_000, phase=PHASE_WARMUP))  # warm-up is never thinned
    gate.on_samples(null_block(1_000_000, label="onnxruntime"))  # nor another backend
    assert [len(b) for b in progress.blocks] == [1_000_000] * 3
    assert [len(b) for b in recording.blocks] == [700, 1_000_000, 1_000_000]
    gate.on_finish("complete")
    assert recording.finished == "complete" and progress.finished == "complete"
    (note,) = recording.events
    assert note.kind == "status" and note.data == {"calls": 1_000_000, "kept": 700}


def test_which_backends_are_thinned_and_at_what_rate():
    plan = RunPlan(
        backends=(
            BackendSpec("null", "null"),
            BackendSpec("null", "null[keep=all]", {"keep": "all"}),
            BackendSpec("null", "null[keep=500]", {"keep": 500}),
        )
    )
    assert thinned_backends(plan) == {"null": 10_000.0, "null[keep=500]": 500.0}
    assert keep_rate({"keep": "all"}) is None
