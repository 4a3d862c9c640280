"""Bootstrap over the units that are independent: turns, rounds of the interleaved schedule, or blocks of calls.

Latency on a real machine is autocorrelated (thermal state, frequency, neighbours, the turns of the interleaved
schedule), so resampling single calls as if they were independent gives intervals that are far too narrow.
Here a bootstrap resample is a vector of *weights over units* (how many times each turn, round or block is
drawn); the statistic of a resample is the q-quantile of all calls of the drawn units.

Cost does not grow with the number of calls beyond one pass: every call is counted once into a (unit × grid)
table of "calls <= grid point" around the pooled quantile, and each resample's quantile is read from
``weights @ table`` by interpolation. A resample's pooled quantile always lies between the smallest and the
largest quantile of its units, so a grid over the pooled distribution near q covers it; the grid is widened
until (almost) no draw is clipped.

Small numbers of units get Hesterberg's expanded percentile interval (percentile levels from
sqrt(n / (n - 1)) * t_{n-1} instead of z), which keeps the coverage of a bootstrap over few units near 95 %.
"""

from __future__ import annotations

import math

import numpy as np

GRID = 160  # grid points around the quantile
ALPHA_INDEPENDENT = 0.05  # an independence check passes when its p-value is at least this
CHECK_BLOCKS = 50  # without turns, the independence check compares this many consecutive blocks of calls
MIN_EXPECTED = 5  # the chi-square check merges adjacent units until each expects this many hits


def expanded_levels(n_units: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile levels (in %) of Hesterberg's expanded percentile interval for a bootstrap over `n_units`.

    For many units this is (2.5, 97.5); for few it widens, e.g. 6 units → about (0.24, 99.76).
    """
    alpha = 1.0 - level
    if n_units < 2:
        return 0.0, 100.0
    if n_units > 100_000:  # the expansion is below 1e-5 of the width: plain percentiles
        return 50.0 * alpha, 100.0 - 50.0 * alpha
    from scipy.special import ndtr  # scipy is imported on first use: it costs ~0.5 s on the live path
    from scipy.stats import t as student_t

    z = math.sqrt(n_units / (n_units - 1)) * float(student_t.ppf(1 - alpha / 2, n_units - 1))
    tail = float(ndtr(-z)) * 100.0
    return tail, 100.0 - tail


def interval(draws: np.ndarray, n_units: int, level: float = 0.95) -> tuple[float, float]:
    """Expanded percentile interval of bootstrap `draws` over `n_units` independent units (NaNs ignored)."""
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(d, expanded_levels(n_units, level))
    return float(lo), float(hi)


def multinomial_weights(n_units: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot × n_units) counts: each row draws `n_units` units with replacement."""
    picks = rng.integers(0, n_units, size=(n_boot, n_units))
    flat = picks + (np.arange(n_boot) * n_units)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n_units).reshape(n_boot, n_units).astype(np.float64)


def moving_block_weights(n_sub: int, per_block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Weights over `n_sub` sub-blocks for a circular moving-block bootstrap of blocks of `per_block` sub-blocks.

    Each row draws ceil(n_sub / per_block) blocks starting at any sub-block (wrapping at the end); a sub-block's
    weight is how many drawn blocks cover it.
    """
    k = max(1, min(per_block, n_sub))
    n_blocks = -(-n_sub // k)
    picks = rng.integers(0, n_sub, size=(n_boot, n_blocks))
    flat = picks + (np.arange(n_boot) * n_sub)[:, None]
    starts = np.bincount(flat.ravel(), minlength=n_boot * n_sub).reshape(n_boot, n_sub).astype(np.float64)
    weights = np.zeros_like(starts)
    for shift in range(k):
        weights += np.roll(starts, shift, axis=1)
    return weights


def _below_counts(values: np.ndarray, units: np.ndarray, n_units: int, grid: np.ndarray) -> np.ndarray:
    """(n_units × len(grid)) counts of calls <= each grid point, per unit."""
    g = grid.size
    bins = np.full(values.shape[0], g, dtype=np.int64)
    bins[values < grid[0]] = 0
    inside = (values >= grid[0]) & (values <= grid[-1])
    bins[inside] = np.searchsorted(grid, values[inside], side="left")
    hist = np.bincount(units * (g + 1) + bins, minlength=n_units * (g + 1)).reshape(n_units, g + 1)
    return np.cumsum(hist, axis=1)[:, :g].astype(np.float64)


def _read_quantile(cdf: np.ndarray, grid: np.ndarray, q: float) -> np.ndarray:
    """Per row of `cdf` (a resample's CDF at the grid points), its q-quantile, interpolated between grid points."""
    j = (cdf < q).sum(axis=1)
    jj = np.clip(j, 1, grid.size - 1)
    rows = np.arange(cdf.shape[0])
    f0, f1 = cdf[rows, jj - 1], cdf[rows, jj]
    g0, g1 = grid[jj - 1], grid[jj]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(f1 > f0, (q - f0) / (f1 - f0), 1.0)
    out = g0 + np.clip(frac, 0.0, 1.0) * (g1 - g0)
    return np.where(j == 0, grid[0], np.where(j == grid.size, grid[-1], out))


def unit_quantile_draws(
    values: np.ndarray,
    units: np.ndarray,
    n_units: int,
    q: float,
    weights: np.ndarray,
    sorted_values: np.ndarray | None = None,
) -> np.ndarray:
    """The q-quantile of every resample: row b of `weights` (n_boot × n_units) says how often each unit is drawn.

    `units` is the unit index (0 … n_units-1) of each value. Rows that draw no value give NaN.
    """
    v = np.asarray(values, dtype=np.float64)
    u = np.asarray(units, dtype=np.int64)
    s = np.sort(v) if sorted_values is None else sorted_values
    n_per = np.bincount(u, minlength=n_units).astype(np.float64)
    tot = weights @ n_per
    point = s[max(0, math.ceil(q * s.size) - 1)]
    below = np.bincount(u[v <= point], minlength=n_units).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = (weights @ below) / tot
    spread = float(np.nanmax(np.abs(level - q))) if np.isfinite(level).any() else 0.0
    width = 1.5 * spread + 2.0 / s.size
    for _ in range(6):
        levels = np.linspace(max(0.0, q - width), min(1.0, q + width), GRID)
        grid = np.unique(s[np.clip(np.ceil(levels * s.size).astype(np.int64) - 1, 0, s.size - 1)])
        if grid.size == 1:
            draws = np.full(weights.shape[0], grid[0])
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            cdf = (weights @ _below_counts(v, u, n_units, grid)) / tot[:, None]
        draws = _read_quantile(np.nan_to_num(cdf, nan=0.0), grid, q)
        edge = (levels[0] > 0.0 and np.any(draws <= grid[0])) or (
            levels[-1] < 1.0 and np.any(draws >= grid[-1])
        )
        if not edge or width >= 1.0:
            break
        width *= 2.0
    draws = np.asarray(draws, dtype=np.float64)
    draws[tot <= 0] = np.nan
    return draws


def dispersion_pvalue(values: np.ndarray, units: np.ndarray, n_units: int, q: float) -> float:
    """Chi-square test that the share of calls <= the pooled q-quantile is the same in every unit.

    Independent calls give p-values uniform on [0, 1]; autocorrelation, drift or level shifts between units
    make the shares differ more than binomial noise and the p-value small. Adjacent units are merged until each
    expects at least `MIN_EXPECTED` calls on each side of the quantile.
    """
    v = np.asarray(values, dtype=np.float64)
    u = np.asarray(units, dtype=np.int64)
    if v.size < 2 * MIN_EXPECTED or n_units < 2:
        return 1.0
    point = np.quantile(v, q, method="inverted_cdf")
    hits = np.bincount(u[v <= point], minlength=n_units).astype(np.float64)
    n = np.bincount(u, minlength=n_units).astype(np.float64)
    p = hits.sum() / n.sum()
    if p <= 0.0 or p >= 1.0:
        return 1.0
    need = math.ceil(MIN_EXPECTED / min(p, 1.0 - p))
    merged = ((np.cumsum(n) - n) // need).astype(np.int64)
    m = int(merged.max()) + 1
    if m < 2:
        return 1.0
    nm, hm = np.bincount(merged, n, minlength=m), np.bincount(merged, hits, minlength=m)
    keep = nm > 0
    nm, hm = nm[keep], hm[keep]
    stat = float(np.sum((hm - nm * p) ** 2 / (nm * p * (1.0 - p))))
    from scipy.stats import chi2

    return float(chi2.sf(stat, nm.size - 1))


def block_units(n: int, n_blocks: int) -> np.ndarray:
    """Unit index of each of `n` calls in time order, cut into `n_blocks` consecutive blocks of equal size."""
    n_blocks = max(1, min(n_blocks, n))
    return (np.arange(n) * n_blocks // max(n, 1)).astype(np.int64)


def block_length(values: np.ndarray, min_blocks: int = 20) -> int:
    """Block length (calls) for a block bootstrap, from how the variance of block means grows with block size.

    For independent calls the variance of the mean of b calls is var / b at every b; autocorrelation makes it
    larger, up to a plateau once blocks are longer than the correlation. The block length is twice the smallest
    b (a power of 2) at which 70 % of the largest variance ratio is reached, at most n / `min_blocks`.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n < 2 * min_blocks:
        return 1
    y = (x <= np.median(x)).astype(np.float64)
    var = y.var()
    if var == 0.0:
        return 1
    c = np.concatenate([[0.0], np.cumsum(y - y.mean())])
    sizes, ratios = [], []
    b = 1
    while n // b >= min_blocks:
        m = n // b
        sums = c[b * np.arange(1, m + 1)] - c[b * np.arange(m)]
        sizes.append(b)
        ratios.append(float(np.mean(sums**2)) / (b * var))
        b *= 2
    top = max(ratios)
    first = next(s for s, r in zip(sizes, ratios) if r >= 0.7 * top)
    return int(max(1, min(2 * first, n // min_blocks)))


def bootstrap_quantile_draws(
    sorted_values: np.ndarray, q: float, n_boot: int = 2000, rng: np.random.Generator | None = None
) -> np.ndarray:
    """`n_boot` draws from the bootstrap distribution of the q-quantile of `sorted_values` (ascending).

    Equivalent to computing the lower q-quantile (order statistic ceil(n*q)) of `n_boot` resamples.
    """
    x = np.asarray(sorted_values)
    n = x.shape[0]
    if n == 0:
        raise ValueError("no values")
    rng = rng or np.random.default_rng(0)
    if n == 1:
        return np.repeat(x[:1].astype(float), n_boot)
    m = max(1, math.ceil(n * q))
    # Ranks outside centre ± 12 sd of the binomial have negligible probability (< 1e-30).
    half = int(12 * math.sqrt(n * q * (1 - q)) + 3)
    lo, hi = max(1, m - half), min(n, m + half)
    j = np.arange(lo, hi + 1, dtype=float)
    # P(Binomial(n, j/n) >= m) = I_{j/n}(m, n - m + 1)  (regularised incomplete beta).
    from scipy.special import betainc

    cdf = betainc(m, n - m + 1, j / n)
    cdf[-1] = 1.0
    u = rng.random(n_boot) * cdf[-1]
    ranks = lo + np.searchsorted(cdf, u, side="left")
    return x[np.clip(ranks, 1, n) - 1].astype(float)
