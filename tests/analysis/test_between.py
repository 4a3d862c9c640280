"""analysis/between.py: the between-session t interval against scipy, and its verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ttest_ind

from infbench.analysis.between import compare_between, log_ratio_interval


def test_interval_matches_a_pooled_t_test_on_logs():
    a, b = [10.0, 10.4, 9.8], [10.9, 11.3, 10.6, 11.0]
    ratio, (lo, hi), p = log_ratio_interval(a, b)
    la, lb = np.log(a), np.log(b)
    assert ratio == pytest.approx(np.exp(lb.mean() - la.mean()))
    assert p == pytest.approx(ttest_ind(lb, la, equal_var=True).pvalue)
    assert lo < ratio < hi and lo > 1.0  # a clear 8 % shift with little spread


def test_spread_between_sessions_widens_the_interval():
    tight = compare_between([10, 10.1, 9.9], [10.6, 10.7, 10.5], [20] * 3, [21] * 3, threshold=0.02)
    loose = compare_between([10, 11, 9.2], [10.6, 11.5, 9.8], [20, 22, 19], [21, 23, 20], threshold=0.02)
    assert tight["verdict"] == "slower" and tight["regression"]
    assert loose["verdict"] == "no significant difference" and not loose["regression"]
    assert loose["median_ratio_ci95"][1] - loose["median_ratio_ci95"][0] > 3 * (
        tight["median_ratio_ci95"][1] - tight["median_ratio_ci95"][0]
    )
    assert loose["ci_method"] == "between-session t interval (3 vs 3 sessions)"
    assert loose["n_a"] == loose["n_b"] == 3


def test_degenerate_inputs():
    assert log_ratio_interval([1.0, 1.0], [1.0])[1:] == ((1.0, 1.0), 1.0)
    with pytest.raises(ValueError):
        log_ratio_interval([1.0], [1.0])
    with pytest.raises(ValueError):
        log_ratio_interval([1.0, 0.0], [1.0])
