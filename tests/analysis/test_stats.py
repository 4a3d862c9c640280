"""analysis/stats.py checked against numpy on known data, and the exact bootstrap against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.resample import bootstrap_quantile_draws
from infbench.analysis.stats import ci95, summarize


def test_summary_matches_numpy_on_known_data():
    rng = np.random.default_rng(3)
    ms = rng.lognormal(2.0, 0.3, 5000)
    ns = (ms * 1e6).astype(np.int64)
    ref = ns / 1e6
    s = summarize(ns, batch=4, tokens=np.full(ns.size, 512))
    assert s.count == 5000
    assert s.mean == pytest.approx(ref.mean())
    assert s.median == pytest.approx(np.median(ref))
    for name, q in (("p90", 90), ("p95", 95), ("p99", 99), ("p999", 99.9)):
        assert getattr(s, name) == pytest.approx(np.percentile(ref, q))
    assert s.min == pytest.approx(ref.min()) and s.max == pytest.approx(ref.max())
    assert s.std == pytest.approx(ref.std(ddof=1))
    assert s.cv == pytest.approx(ref.std(ddof=1) / ref.mean())
    busy_s = ref.sum() / 1e3
    assert s.throughput_per_s == pytest.approx(5000 / busy_s)
    assert s.samples_per_s == pytest.approx(4 * 5000 / busy_s)
    assert s.tokens_per_s == pytest.approx(512 * 5000 / busy_s)
    lo, hi = s.median_ci95
    assert lo <= s.median <= hi and hi - lo < 0.1 * s.median
    lo, hi = s.p99_ci95
    assert lo <= s.p99 <= hi


def test_constant_and_single_values():
    s = summarize(np.full(100, 5_000_000))
    assert s.median == s.p99 == s.min == s.max == 5.0 and s.std == 0 and s.cv == 0
    assert s.median_ci95 == (5.0, 5.0)
    one = summarize(np.array([2_000_000]))
    assert one.count == 1 and one.median == 2.0 and one.std == 0.0
    with pytest.raises(ValueError):
        summarize(np.array([], dtype=np.int64))


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_exact_bootstrap_agrees_with_resampling(q):
    rng = np.random.default_rng(7)
    x = np.sort(rng.gamma(2.0, 3.0, 800))
    exact = bootstrap_quantile_draws(x, q, 4000, np.random.default_rng(1))
    m = int(np.ceil(q * x.size)) - 1
    brute = np.array([np.sort(rng.choice(x, x.size))[m] for _ in range(4000)])
    # Same distribution: Kolmogorov-Smirnov distance small (critical value at 4000+4000 draws ≈ 0.03).
    grid = np.unique(np.concatenate([exact, brute]))
    cdf_e = np.searchsorted(np.sort(exact), grid, side="right") / exact.size
    cdf_b = np.searchsorted(np.sort(brute), grid, side="right") / brute.size
    assert np.max(np.abs(cdf_e - cdf_b)) < 0.04
    lo, hi = ci95(exact)
    assert lo <= np.quantile(x, q) <= hi
