"""Headless progress: the running median is the table's median, the binding limit, the expected duration."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from infbench.metrics import fmt_ms, fmt_seconds
from infbench.plan.spec import BackendSpec, RunPlan
from infbench.records import PHASE_MEASURE, PHASE_WARMUP, BackendInfo, SampleBlock, TurnRecord
from infbench.run.progress import HeadlessProgress, MedianHistogram, plan_summary


def block(label: str, dur_ns: np.ndarray, t0: int = 0, phase: str = PHASE_MEASURE) -> SampleBlock:
    dur = np.asarray(dur_ns, dtype=np.int64)
    start = t0 + np.concatenate([[0], np.cumsum(dur[:-1])]).astype(np.int64)
    return SampleBlock(label, phase, start, dur, np.zeros(dur.size, np.int32))


def plain(
    labels: list[str], duration_s: float = 10.0, iterations: int = 100, schedule: str = "interleaved"
) -> tuple[HeadlessProgress, io.StringIO]:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    return HeadlessProgress(console, labels, duration_s, iterations, schedule), buf


def test_running_median_is_the_median_of_every_measured_call_not_of_the_last_block():
    rng = np.random.default_rng(1)
    fast = rng.normal(6.6e6, 2e5, 3000)  # an early stretch of fast calls (the old bar showed the last block)
    slow = rng.normal(11.4e6, 3e5, 5000)
    progress, _ = plain(["a"])
    progress.on_samples(block("a", fast))
    progress.on_samples(block("a", slow, t0=int(fast.sum())))
    every = np.concatenate([fast, slow]).astype(np.int64)
    table_median = float(np.percentile(every.astype(np.float64) / 1e6, 50))
    assert progress.median_ms("a") == pytest.approx(table_median, rel=1e-3)
    assert fmt_ms(progress.median_ms("a")) == fmt_ms(table_median)
    assert abs(progress.median_ms("a") - float(np.median(slow)) / 1e6) > 1e-3  # not the last block's


def test_histogram_median_tracks_numpy_over_many_scales():
    rng = np.random.default_rng(2)
    for scale in (60.0, 4e4, 8e6, 9e8):
        values = rng.lognormal(np.log(scale), 0.3, 20001)
        h = MedianHistogram()
        for part in np.array_split(values, 7):
            h.add(part)
        assert h.n == values.size
        assert h.median_ns() == pytest.approx(float(np.median(values)), rel=1e-3)
    assert MedianHistogram().median_ns() is None


def test_binding_limit_calls_for_a_slow_backend_time_for_a_fast_one():
    progress, buf = plain(["slow", "fast"], duration_s=2.0, iterations=100)
    # warm-up turns time the calls: 50 ms and 1 ms
    progress.on_turn(TurnRecord("slow", PHASE_WARMUP, 0, 500_000_000, 10, 500_000_000))
    assert progress.estimate_line() is None  # fast has no time per call yet
    progress.on_turn(TurnRecord("fast", PHASE_WARMUP, 0, 10_000_000, 10, 10_000_000))
    line = progress.estimate_line()
    assert line is not None and line.startswith("expected ≈ 7.0 s of measuring")  # 100 × 50 ms + 2 s
    assert "slow 5.0 s (-n 100 binds at 50.00 ms/call)" in line and "fast 2.0 s (-d binds)" in line
    assert line in buf.getvalue()  # printed once, by the warm-up turn that completed the picture
    assert progress.binding("slow") == "calls" and progress.binding("fast") == "time"
    progress.on_samples(block("slow", np.full(4, 50_000_000)))
    progress.on_turn(TurnRecord("slow", PHASE_MEASURE, 0, 200_000_000, 4, 200_000_000))
    assert progress.measured("slow") == (4, pytest.approx(0.2))
    assert progress.fraction("slow") == pytest.approx(0.04)  # 4 of 100 calls, not 0.2 of 2 s
    assert "until -n 4/100 calls" in buf.getvalue()


def test_concurrent_expected_time_is_the_longest_backend():
    progress, _ = plain(["a", "b"], duration_s=3.0, iterations=10, schedule="concurrent")
    progress.on_turn(TurnRecord("a", PHASE_WARMUP, 0, 10 * 10**9, 10, 10 * 10**9))  # 1 s a call → 10 s
    progress.on_turn(TurnRecord("b", PHASE_WARMUP, 0, 10**6, 10, 10**6))
    assert (progress.estimate_line() or "").startswith("expected ≈ 10 s of measuring")


def test_failed_backend_does_not_hold_back_the_estimate_and_interrupt_marks_the_rest():
    progress, buf = plain(["a", "b"], duration_s=1.0, iterations=10)
    progress.on_backend(BackendInfo("b", "null", {}, status="failed", error="x"))
    progress.on_turn(TurnRecord("a", PHASE_WARMUP, 0, 10**7, 10, 10**7))
    assert (progress.estimate_line() or "").startswith("expected ≈ 1.0 s")
    progress.mark_interrupted()
    assert progress._status == {"a": "interrupted", "b": "failed"}
    assert "progress b:" in buf.getvalue()  # a final line for the failed backend without a terminal


def test_plan_summary_names_both_limits_and_the_pace_where_calls_bind():
    plan = RunPlan(
        model="gpt2-small",
        backends=(BackendSpec("null", "a"), BackendSpec("null", "b")),
        duration_s=2.0,
        iterations=100,
    )
    text = plan_summary(plan)
    assert "-d 2 s and -n 100 calls" in text and "≥ 4.0 s of measuring" in text and "20 ms a call" in text
    assert fmt_seconds(86) == "86 s" and fmt_seconds(200) == "3 min 20 s"


def test_labels_with_brackets_are_shown_literally():
    progress, buf = plain(["onnxruntime[threads=1]"], duration_s=1.0, iterations=1)
    progress.on_samples(block("onnxruntime[threads=1]", np.full(3, 10**6)))
    assert "progress onnxruntime[threads=1]:" in buf.getvalue()
