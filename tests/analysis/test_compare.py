"""analysis/compare.py: A/A, planted slowdown/speedup, brute-force bootstrap agreement, schedule bias."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infbench.analysis.compare import (
    NO_DIFFERENCE,
    compare_latencies,
    mann_whitney_p,
    noise_band_from_aa,
    relative_comparisons,
)
from infbench.analysis.intervals import Calls
from infbench.analysis.stats import ci95


def _lat(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    return (scale * 10e6 * rng.lognormal(0.0, 0.25, n)).astype(np.int64)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_aa_same_distribution_is_no_difference(seed):
    rng = np.random.default_rng(seed)
    c = compare_latencies(_lat(rng, 4000), _lat(rng, 4000), seed=seed)
    lo, hi = c.median_ratio_ci95
    assert lo <= 1.0 <= hi
    assert c.verdict == NO_DIFFERENCE and not c.regression
    assert c.n_a == c.n_b == 4000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_slowdown_and_speedup(seed):
    rng = np.random.default_rng(seed)
    a = _lat(rng, 3000)
    slow = compare_latencies(a, _lat(rng, 3000, 1.2), seed=seed)
    assert slow.verdict == "slower" and slow.regression
    assert slow.median_ratio == pytest.approx(1.2, rel=0.03)
    assert slow.median_ratio_ci95[0] > 1.05 and slow.p_value < 0.05
    fast = compare_latencies(a, _lat(rng, 3000, 0.8), seed=seed)
    assert fast.verdict == "faster" and not fast.regression
    assert fast.median_ratio_ci95[1] < 0.95


def test_difference_inside_noise_band_is_not_a_win():
    rng = np.random.default_rng(5)
    a, b = _lat(rng, 50_000), _lat(rng, 50_000, 1.03)
    c = compare_latencies(a, b, threshold=0.05, process_sd=0.0)  # within-run statistics alone
    assert c.median_ratio_ci95[0] > 1.0 and c.p_value < 1e-6  # real, but within the band
    assert c.verdict == NO_DIFFERENCE
    assert compare_latencies(a, b, threshold=0.01, process_sd=0.0).verdict == "slower"


def test_between_process_spread_widens_ratio_intervals_in_quadrature():
    rng = np.random.default_rng(6)
    a, b = _lat(rng, 50_000), _lat(rng, 50_000, 1.02)
    within = compare_latencies(a, b, threshold=0.01, process_sd=0.0)
    both = compare_latencies(a, b, threshold=0.01, process_sd=0.013)
    lo, hi = within.median_ratio_ci95
    r = within.median_ratio
    assert both.median_ratio == r and both.ci_method == within.ci_method + " + between-process ±1.3 %"
    expect_lo = r * np.exp(-np.hypot(np.log(r / lo), 1.959964 * 0.013))
    expect_hi = r * np.exp(np.hypot(np.log(hi / r), 1.959964 * 0.013))
    assert both.median_ratio_ci95 == pytest.approx((expect_lo, expect_hi), rel=1e-9)
    assert both.median_ratio_ci95[0] < 1.0 < both.median_ratio_ci95[1]  # a 2 % offset: not settled by one run
    assert within.verdict == "slower" and both.verdict == NO_DIFFERENCE and both.p_value > 0.05


def test_ratio_ci_matches_brute_force_bootstrap():
    rng = np.random.default_rng(11)
    a, b = rng.gamma(3.0, 2.0, 41), rng.gamma(3.0, 2.6, 37)
    c = compare_latencies(a, b, n_boot=20_000, seed=3)
    n_boot = 20_000

    def lower_quantile(x, q):
        m = max(1, math.ceil(x.shape[1] * q))
        return np.sort(x, axis=1)[:, m - 1]

    for q, ci in ((0.5, c.median_ratio_ci95), (0.99, c.p99_ratio_ci95)):
        ra = lower_quantile(rng.choice(a, (n_boot, a.size)), q)
        rb = lower_quantile(rng.choice(b, (n_boot, b.size)), q)
        ref = ci95(rb / ra)
        assert ci[0] == pytest.approx(ref[0], rel=0.03)
        assert ci[1] == pytest.approx(ref[1], rel=0.03)
    assert c.median_ratio == pytest.approx(np.median(b) / np.median(a))
    assert c.p99_ratio == pytest.approx(np.percentile(b, 99) / np.percentile(a, 99))


def test_mann_whitney_subsampling_and_degenerate_inputs():
    rng = np.random.default_rng(0)
    big = rng.lognormal(0, 0.2, 450_000)
    assert 0.0 <= mann_whitney_p(big, big * 1.0) <= 1.0
    assert mann_whitney_p(big, big * 1.05) < 1e-6
    assert mann_whitney_p(np.ones(10), np.ones(10)) == 1.0
    c = compare_latencies(np.ones(10), np.ones(12))
    assert c.median_ratio == 1.0 and c.verdict == NO_DIFFERENCE
    with pytest.raises(ValueError):
        compare_latencies(np.array([]), np.ones(3))


def test_noise_band_from_aa_is_small_and_positive():
    rng = np.random.default_rng(4)
    band = noise_band_from_aa(_lat(rng, 5000), _lat(rng, 5000))
    assert 0.0 < band < 0.05


def test_relative_table_uses_fastest_as_baseline():
    rng = np.random.default_rng(6)
    base, rows = relative_comparisons(
        {"ort": _lat(rng, 2000, 1.3), "ov": _lat(rng, 2000), "empty": np.array([])}
    )
    assert base == "ov" and set(rows) == {"ort", "ov"}
    assert rows["ov"].verdict == "baseline"
    assert rows["ort"].verdict == "slower" and rows["ort"].median_ratio > 1.2
    assert relative_comparisons({}) == (None, {})


def simulate_schedule_bias(
    schedule: str,
    n_per_backend: int = 20_000,
    drift: float = 0.10,
    block_len: int = 50,
    sigma: float = 0.1,
    seed: int = 0,
):
    """Two identical backends on a machine slowing by `drift` linearly over the run, compared B vs A.

    `schedule` is ``blocked`` (all of A, then all of B) or ``interleaved`` (rounds of `block_len` calls per
    backend, order shuffled each round; compared with the paired round bootstrap). Blocked order shows a
    confident false difference; interleaved does not.
    """
    rng = np.random.default_rng(seed)
    n = 2 * n_per_backend
    if schedule == "blocked":
        owner = np.repeat([0, 1], n_per_backend)
    elif schedule == "interleaved":
        rounds = -(-n_per_backend // block_len)
        first = rng.integers(0, 2, rounds)
        pair = np.stack([first, 1 - first], axis=1)
        owner = np.repeat(pair.ravel(), block_len)[: 2 * rounds * block_len]
        keep = np.concatenate([np.flatnonzero(owner == k)[:n_per_backend] for k in (0, 1)])
        owner = owner[np.sort(keep)]
    else:
        raise ValueError(f"unknown schedule {schedule!r}: use 'blocked' or 'interleaved'")
    slow = 1.0 + drift * np.arange(n) / (n - 1)
    dur = 10e6 * slow * rng.lognormal(0.0, sigma, n)
    if schedule == "blocked":
        return compare_latencies(dur[owner == 0], dur[owner == 1], seed=seed)
    turn = np.arange(n_per_backend) // block_len  # the k-th turn of each backend is in round k
    return compare_latencies(
        Calls(dur[owner == 0], turn), Calls(dur[owner == 1], turn), seed=seed, paired=True
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_blocked_order_under_drift_is_biased_and_interleaving_removes_it(seed):
    blocked = simulate_schedule_bias("blocked", seed=seed)
    # confident, and false: drift makes the calls dependent, so the CI is a moving-block bootstrap and the
    # p-value is that bootstrap's (it cannot go below 1 / n_boot)
    assert blocked.median_ratio_ci95[0] > 1.02 and blocked.p_value < 0.01
    assert blocked.ci_method.startswith("moving-block bootstrap")
    inter = simulate_schedule_bias("interleaved", seed=seed)
    lo, hi = inter.median_ratio_ci95
    assert lo <= 1.0 <= hi and inter.verdict == NO_DIFFERENCE
    with pytest.raises(ValueError):
        simulate_schedule_bias("random")
