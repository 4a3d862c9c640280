"""analysis/intervals.py: which bootstrap is used when, and what it gives on data with a known structure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from infbench.analysis.compare import compare_latencies
from infbench.analysis.intervals import BLOCK, EXACT, MAX_UNITS, TURN, Calls, plan_units, quantile_cis
from infbench.analysis.stats import summarize


def _rounds(
    rng: np.random.Generator, n_rounds: int, per: int, shared: float, own: float
) -> tuple[Calls, Calls]:
    """Two identical backends over `n_rounds` rounds: a level shared by both turns of a round (sd `shared`)
    and one of each turn (sd `own`), log scale."""
    common = rng.normal(0.0, shared, n_rounds)
    out = []
    for _ in range(2):
        level = np.exp(common + rng.normal(0.0, own, n_rounds))
        turn = np.repeat(np.arange(n_rounds), per)
        out.append(Calls(1e6 * level[turn] * rng.lognormal(0.0, 0.1, turn.size), turn))
    return out[0], out[1]


def test_plan_units_picks_the_method_from_the_data():
    rng = np.random.default_rng(0)
    iid = Calls(rng.lognormal(0, 0.2, 4000), np.repeat(np.arange(40), 100))
    assert plan_units(iid).kind == EXACT
    a, _ = _rounds(rng, 40, 100, 0.05, 0.02)
    p = plan_units(a)
    assert p.kind == TURN and p.n_units == 40 and p.describe() == "turn bootstrap (40 turns)"
    ar = np.exp(lfilter([1.0], [1.0, -0.98], rng.normal(0, 0.02, 20_000)))
    b = plan_units(Calls(ar))
    assert b.kind == BLOCK and b.describe().startswith("moving-block bootstrap (") and b.block_calls >= 8
    assert plan_units(Calls(rng.lognormal(0, 0.2, 20_000))).kind == EXACT
    many = Calls(np.exp(np.repeat(rng.normal(0, 0.05, 5000), 4)), np.repeat(np.arange(5000), 4))
    assert plan_units(many).n_units <= MAX_UNITS  # consecutive turns merged


def test_pairing_rounds_cancels_what_both_backends_saw():
    rng = np.random.default_rng(1)
    a, b = _rounds(rng, 30, 50, shared=0.10, own=0.01)  # big round-to-round drift, hitting both alike
    paired = compare_latencies(a, b, paired=True, process_sd=0.0)  # the within-run part alone
    unpaired = compare_latencies(a, b, paired=False, process_sd=0.0)
    assert paired.ci_method == "paired round bootstrap (30 rounds)"
    assert unpaired.ci_method == "turn bootstrap (30 turns)"
    w_p = np.diff(paired.median_ratio_ci95)[0]
    w_u = np.diff(unpaired.median_ratio_ci95)[0]
    assert w_p < 0.4 * w_u and paired.median_ratio_ci95[0] <= 1.0 <= paired.median_ratio_ci95[1]


def test_summarize_with_turns_gives_wider_honest_cis():
    rng = np.random.default_rng(2)
    a, _ = _rounds(rng, 40, 200, shared=0.05, own=0.0)
    with_turns = summarize(a.dur, turns=a.turn)
    as_calls = summarize(rng.permutation(a.dur))  # shuffled: independent calls, the exact bootstrap
    assert with_turns.ci_method == "turn bootstrap (40 turns)"
    assert as_calls.ci_method == "exact bootstrap of independent calls"
    lo, hi = with_turns.median_ci95
    assert lo <= with_turns.median <= hi
    assert hi - lo > 3 * (as_calls.median_ci95[1] - as_calls.median_ci95[0])
    assert with_turns.latency_dict()["ci_method"] == with_turns.ci_method


def test_quantile_cis_rejects_mismatched_turns():
    with pytest.raises(ValueError):
        quantile_cis(Calls(np.ones(5), np.zeros(4, np.int64)), (0.5,), 100, np.random.default_rng(0))
    with pytest.raises(ValueError):
        quantile_cis(Calls(np.array([])), (0.5,), 100, np.random.default_rng(0))
