"""The numpy running median matches scipy.ndimage.median_filter, which it replaces on the live path."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import median_filter as scipy_median_filter

from infbench.analysis.smoothing import median_filter


@pytest.mark.parametrize("mode", ["nearest", "mirror"])
@pytest.mark.parametrize("size", [1, 3, 5, 9])
@pytest.mark.parametrize("n", [4, 7, 50, 333])
def test_matches_scipy(mode: str, size: int, n: int) -> None:
    if mode == "mirror" and n <= size // 2:
        with pytest.raises(ValueError, match="mirror needs"):
            median_filter(np.ones(n), size, mode)
        return
    rng = np.random.default_rng(n * 31 + size)
    y = rng.lognormal(0, 0.5, n)
    y[rng.integers(0, n, 3)] *= 10  # outliers: the point of a median
    np.testing.assert_allclose(median_filter(y, size, mode), scipy_median_filter(y, size=size, mode=mode))


def test_even_window_is_refused() -> None:
    with pytest.raises(ValueError, match="odd window"):
        median_filter(np.ones(5), 4)
