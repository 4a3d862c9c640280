"""Generation metrics from per-token stamps: exact on hand-made stamps, and end to end on a synthetic generate
run through the real LiveStore and `build_report` (typed report, registry values, JSON, winners)."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.generation import (
    GENERATION_KEYS,
    itl_samples,
    summarize_tokens,
    token_series,
)
from infbench.analysis.summary import build_report
from infbench.metrics import metric
from tests.analysis.gen_synth import BATCH, ITL_NS, NEW_TOKENS, PROMPT_LEN, TTFT_NS, gen_run

MS = 1_000_000


def test_token_series_is_exact_on_hand_made_stamps() -> None:
    # two calls: 3 steps and 1 step; a third call emitted nothing and is left out
    start = np.array([0, 100 * MS, 200 * MS])
    counts = np.array([3, 1, 0])
    stamps = np.array([10 * MS, 15 * MS, 22 * MS, 130 * MS])
    s = token_series(start, counts, stamps, batch=4)
    assert s.requests == 2
    assert s.ttft.tolist() == [10 * MS, 30 * MS]
    assert s.gap.tolist() == [5 * MS, 7 * MS] and s.gap_call.tolist() == [0, 0]
    assert s.decode.tolist() == [12 * MS, 0]
    assert s.request_ends().tolist() == [22 * MS, 130 * MS]
    # per token: each step's gap once per batch row
    assert itl_samples(s).tolist() == [5 * MS] * 4 + [7 * MS] * 4
    g = summarize_tokens(s, prompt_len=16, new_tokens=3, n_boot=200)
    assert g is not None
    assert g.decode_tokens_per_s == pytest.approx(4 * 2 / 0.012)
    assert g.tpot_ms == pytest.approx(6.0)
    assert g.ttft.median == pytest.approx(20.0) and g.ttft.count == 2
    assert g.prefill_tokens_per_s == pytest.approx(4 * 16 / 0.020)
    assert g.itl is not None and g.itl.count == 8


def test_token_series_refuses_counts_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="do not match"):
        token_series(np.array([0]), np.array([3]), np.array([1, 2]))


def test_itl_samples_count_per_token_batch_times_new_tokens_minus_one_per_request() -> None:
    run = gen_run(duration_s=4.0, short_every=5, throttle=False)
    report = build_report(run.store, n_boot=200, analysis=False)
    for label in ("fast", "slow"):
        g = report.variants[label].generation
        assert g is not None
        steps = np.array(run.steps[label])
        assert g.requests == steps.size == report.variants[label].iterations
        # the done-when count: batch × (new tokens − 1) per request (requests that stopped early: their steps)
        assert g.itl is not None and g.itl.count == BATCH * int(np.sum(steps - 1))
        full = steps == NEW_TOKENS
        assert full.any() and (~full).any()
        assert BATCH * int(np.sum(steps[full] - 1)) == BATCH * (NEW_TOKENS - 1) * int(full.sum())
        assert g.batch == BATCH and g.prompt_len == PROMPT_LEN and g.new_tokens == NEW_TOKENS


def test_report_carries_generation_stats_through_the_registry_and_json() -> None:
    run = gen_run(duration_s=5.0, throttle=False)
    report = build_report(run.store, n_boot=300, analysis=False)
    fast, slow = report.variants["fast"], report.variants["slow"]
    assert fast.generation is not None and slow.generation is not None
    # medians where they were fed (lognormal sd 5 %), CIs around them, the unit resampled named
    assert fast.value("ttft_median_ms") == pytest.approx(TTFT_NS["fast"] / MS, rel=0.05)
    assert slow.value("itl_median_ms") == pytest.approx(ITL_NS["slow"] / MS, rel=0.05)
    lo, hi = fast.generation.ttft.median_ci95
    assert lo <= fast.generation.ttft.median <= hi
    assert "turn" in fast.generation.ttft.ci_method or "exact" in fast.generation.ttft.ci_method
    fed = np.concatenate(run.gaps["fast"]).astype(np.float64)
    assert fast.value("itl_p99_ms") == pytest.approx(np.percentile(np.repeat(fed, BATCH), 99) / MS)
    # decode tokens/s: batch × decoded steps / decode time
    ends = [np.sum(g) for g in run.gaps["fast"]]
    want = BATCH * sum(len(g) for g in run.gaps["fast"]) / (sum(ends) / 1e9)
    assert fast.value("decode_tokens_per_s") == pytest.approx(want)
    # every generation metric is registered and has a value
    for key in GENERATION_KEYS:
        assert metric(key).format(fast.value(key)) != "—"
    # winners judged by the registry's direction: fast has the lower TTFT and ITL, more tokens/s
    assert report.winners["ttft"] == "fast" and report.winners["itl_p99"] == "fast"
    assert report.winners["decode"] == "fast"
    data = report.to_json_dict()["backends"]["fast"]["generation"]
    assert data["ttft_ms"]["median"] == fast.generation.ttft.median
    assert data["itl_ms"]["count"] == fast.generation.itl.count  # type: ignore[union-attr]


def test_a_prefill_run_has_no_generation_and_no_new_winner() -> None:
    from tests.tui.synthetic import synthetic_store

    report = build_report(synthetic_store(), n_boot=200, analysis=False)
    assert all(r.generation is None for r in report.variants.values())
    assert not {"ttft", "itl_p99", "decode"} & set(report.winners)
    assert all(r.to_json_dict()["generation"] is None for r in report.variants.values())
