"""analysis/resample.py: weighted-unit quantiles against brute force, expansion, independence check, block length."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from infbench.analysis import resample as rs


def _units(
    rng: np.random.Generator, n_units: int, per: int, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """`per` lognormal calls per unit; each unit's level moves by a N(0, shift) factor in log space."""
    level = np.exp(rng.normal(0.0, shift, n_units)) if shift else np.ones(n_units)
    units = np.repeat(np.arange(n_units), per)
    return rng.lognormal(0.0, 0.2, n_units * per) * level[units], units


def test_expanded_levels_widen_for_few_units():
    assert rs.expanded_levels(10**6) == pytest.approx((2.5, 97.5))
    lo6, hi6 = rs.expanded_levels(6)
    assert lo6 == pytest.approx(0.24, abs=0.03) and hi6 == pytest.approx(100 - lo6)
    assert rs.expanded_levels(6)[0] < rs.expanded_levels(30)[0] < rs.expanded_levels(1000)[0] < 2.5
    assert rs.expanded_levels(1) == (0.0, 100.0)


def test_weights_rows_draw_the_right_number_of_units():
    rng = np.random.default_rng(0)
    w = rs.multinomial_weights(37, 200, rng)
    assert w.shape == (200, 37) and np.all(w.sum(axis=1) == 37) and w.min() >= 0
    mb = rs.moving_block_weights(40, 4, 100, rng)
    assert mb.shape == (100, 40) and np.all(mb.sum(axis=1) == 40)  # 10 blocks × 4 sub-blocks


@pytest.mark.parametrize(("q", "tol", "tol_ci"), [(0.5, 0.15, 0.05), (0.99, 0.7, 0.1)])
def test_unit_quantile_draws_match_brute_force(q, tol, tol_ci):
    rng = np.random.default_rng(3)
    values, units = _units(rng, 30, 40, shift=0.05)
    w = rs.multinomial_weights(30, 300, rng)
    draws = rs.unit_quantile_draws(values, units, 30, q, w)
    brute = np.empty(300)
    for b in range(300):  # the q-quantile (order statistic ceil(n q)) of the calls of the drawn units
        pooled = np.sort(np.repeat(values, w[b, units].astype(int)))
        brute[b] = pooled[max(1, math.ceil(q * pooled.size)) - 1]
    # each draw is interpolated on a grid of data values: off by a part of the bootstrap spread (in the sparse
    # tail of 1200 calls, up to the gap between neighbouring order statistics), and the intervals agree
    assert np.max(np.abs(draws - brute)) < tol * brute.std()
    lo, hi = np.percentile(brute, [2.5, 97.5])
    dlo, dhi = np.percentile(draws, [2.5, 97.5])
    assert abs(dlo - lo) < tol_ci * (hi - lo) and abs(dhi - hi) < tol_ci * (hi - lo)
    ones = rs.unit_quantile_draws(values, units, 30, q, np.ones((1, 30)))
    assert ones[0] == pytest.approx(np.quantile(values, q, method="inverted_cdf"), rel=2e-3)


def test_rows_without_any_value_give_nan():
    values, units = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 2, 2])
    w = np.array([[0.0, 3.0, 0.0], [1.0, 1.0, 1.0]])  # row 0 draws only the empty unit 1
    d = rs.unit_quantile_draws(values, units, 3, 0.5, w)
    assert np.isnan(d[0]) and 1.0 <= d[1] <= 3.0


def test_interval_ignores_nan_and_uses_expanded_levels():
    d = np.concatenate([np.linspace(0.0, 1.0, 1001), [np.nan]])
    lo, hi = rs.interval(d, 10**6)
    assert lo == pytest.approx(0.025) and hi == pytest.approx(0.975)
    lo6, hi6 = rs.interval(d, 6)
    assert lo6 < lo and hi6 > hi


def test_dispersion_detects_unit_shifts_and_passes_independent_calls():
    rng = np.random.default_rng(5)
    iid, units = _units(rng, 60, 100)
    ps = [rs.dispersion_pvalue(rng.permutation(iid), units, 60, q) for q in (0.5, 0.99) for _ in range(3)]
    assert min(ps) > 0.01
    shifted, units = _units(rng, 60, 100, shift=0.05)
    assert rs.dispersion_pvalue(shifted, units, 60, 0.5) < 1e-6
    assert rs.dispersion_pvalue(np.ones(5), np.zeros(5, np.int64), 1, 0.5) == 1.0


def test_block_length_follows_the_autocorrelation():
    rng = np.random.default_rng(2)
    assert rs.block_length(rng.normal(size=20_000)) <= 4
    ar = lfilter([1.0], [1.0, -0.98], rng.normal(size=20_000))  # correlation time ~50 calls
    assert 40 <= rs.block_length(ar) <= 1000
    assert rs.block_length(np.ones(10)) == 1
    assert np.array_equal(rs.block_units(10, 3), [0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
