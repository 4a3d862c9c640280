"""Fair comparison of two latency samples: bootstrap CI of the ratio of medians / p99s, Mann-Whitney U, verdict.

A difference is called a win or a loss only when the 95 % CI of the ratio lies entirely outside the noise band
[1 - threshold, 1 + threshold] *and* the rank test agrees (p < 0.05). The noise band comes from the user
(default 5 %) or from an A/A run of one backend against itself (`noise_band_from_aa`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import mannwhitneyu

from infbench.analysis.stats import DEFAULT_BOOTSTRAP, bootstrap_quantile_draws, ci95

FASTER = "faster"
SLOWER = "slower"
NO_DIFFERENCE = "no significant difference"
ALPHA = 0.05
# Mann-Whitney on more than this many values per side is subsampled (evenly spaced in the given order, so it
# stays deterministic and covers the whole run); at 200k per side its power is already far beyond the CI's.
MWU_MAX_N = 200_000


@dataclass(frozen=True)
class Comparison:
    """B compared with A. Ratios are B / A (> 1: B is slower); the verdict is from B's point of view.

    Attributes:
        median_ratio: median(B) / median(A).
        median_ratio_ci95: bootstrap 95 % interval of that ratio.
        p99_ratio: p99(B) / p99(A).
        p99_ratio_ci95: bootstrap 95 % interval of that ratio.
        p_value: two-sided Mann-Whitney U p-value.
        verdict: ``faster`` | ``slower`` | ``no significant difference``.
        regression: True when the verdict is ``slower``.
        threshold: half-width of the noise band used.
        n_a: number of samples of A.
        n_b: number of samples of B.
    """

    median_ratio: float
    median_ratio_ci95: tuple[float, float]
    p99_ratio: float
    p99_ratio_ci95: tuple[float, float]
    p_value: float
    verdict: str
    regression: bool
    threshold: float
    n_a: int
    n_b: int

    def to_dict(self) -> dict:
        """JSON-ready dict (CIs as two-element lists)."""
        d = asdict(self)
        d["median_ratio_ci95"] = list(self.median_ratio_ci95)
        d["p99_ratio_ci95"] = list(self.p99_ratio_ci95)
        return d


def _as_float(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name}: no samples")
    return a


def _subsample(x: np.ndarray, n_max: int = MWU_MAX_N) -> np.ndarray:
    if x.size <= n_max:
        return x
    return x[np.linspace(0, x.size - 1, n_max).astype(np.int64)]


def _ratio(b: float, a: float) -> float:
    if a > 0:
        return b / a
    return 1.0 if b == a else float("inf")


def _ratio_draws(
    sa: np.ndarray, sb: np.ndarray, q: float, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    da = bootstrap_quantile_draws(sa, q, n_boot, rng)
    db = bootstrap_quantile_draws(sb, q, n_boot, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = db / da
    return np.where(da == db, 1.0, r)  # 0/0 → equal


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value; each side evenly subsampled to at most `MWU_MAX_N` values."""
    a, b = _subsample(np.asarray(a, dtype=np.float64)), _subsample(np.asarray(b, dtype=np.float64))
    if a.size < 2 or b.size < 2 or (np.all(a == a[0]) and np.all(b == a[0])):
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)


def verdict_for(ci: tuple[float, float], p_value: float, threshold: float) -> str:
    """``slower`` / ``faster`` when the CI clears the noise band and p < 0.05, else no significant difference."""
    if p_value < ALPHA and ci[0] > 1.0 + threshold:
        return SLOWER
    if p_value < ALPHA and ci[1] < 1.0 - threshold:
        return FASTER
    return NO_DIFFERENCE


def compare_latencies(
    a_dur_ns: np.ndarray,
    b_dur_ns: np.ndarray,
    threshold: float = 0.05,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> Comparison:
    """Compare B's latencies with A's (any consistent unit; ns by convention).

    The CIs come from independent exact bootstraps of each side's quantile (draws_b / draws_a), so they cost
    the same for 100 or 10 million samples.

    Raises:
        ValueError: when either side is empty.
    """
    a, b = _as_float(a_dur_ns, "A"), _as_float(b_dur_ns, "B")
    sa, sb = np.sort(a), np.sort(b)
    rng = np.random.default_rng(seed)
    med_ci = ci95(_ratio_draws(sa, sb, 0.5, n_boot, rng))
    p99_ci = ci95(_ratio_draws(sa, sb, 0.99, n_boot, rng))
    p = mann_whitney_p(a, b)
    verdict = verdict_for(med_ci, p, threshold)
    return Comparison(
        median_ratio=_ratio(float(np.median(sb)), float(np.median(sa))),
        median_ratio_ci95=med_ci,
        p99_ratio=_ratio(float(np.percentile(sb, 99)), float(np.percentile(sa, 99))),
        p99_ratio_ci95=p99_ci,
        p_value=p,
        verdict=verdict,
        regression=verdict == SLOWER,
        threshold=float(threshold),
        n_a=int(a.size),
        n_b=int(b.size),
    )


def noise_band_from_aa(
    a1_ns: np.ndarray, a2_ns: np.ndarray, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> float:
    """Noise band half-width measured by an A/A run: half-width of the median-ratio CI plus |ratio - 1|.

    Use it as `threshold` for real comparisons on the same machine and settings.
    """
    c = compare_latencies(a1_ns, a2_ns, threshold=0.0, n_boot=n_boot, seed=seed)
    lo, hi = c.median_ratio_ci95
    return float((hi - lo) / 2.0 + abs(c.median_ratio - 1.0))


def relative_table(
    backends: dict[str, np.ndarray], threshold: float = 0.05, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> dict:
    """Each backend compared with the fastest one (by median), JSON-ready.

    Returns:
        ``{"baseline": name, "threshold": t, "rows": {name: {...Comparison.to_dict()}}}``; the baseline's own
        row has ratio 1.0 and verdict ``baseline``. Empty backends are left out.
    """
    samples = {k: _as_float(v, k) for k, v in backends.items() if np.asarray(v).size}
    if not samples:
        return {"baseline": None, "threshold": float(threshold), "rows": {}}
    medians = {k: float(np.median(v)) for k, v in samples.items()}
    base = min(medians, key=medians.__getitem__)
    rows: dict[str, dict] = {}
    for name, values in samples.items():
        if name == base:
            n = int(values.size)
            rows[name] = Comparison(
                1.0, (1.0, 1.0), 1.0, (1.0, 1.0), 1.0, "baseline", False, float(threshold), n, n
            ).to_dict()
        else:
            rows[name] = compare_latencies(samples[base], values, threshold, n_boot, seed).to_dict()
    return {"baseline": base, "threshold": float(threshold), "rows": rows}


def simulate_schedule_bias(
    schedule: str,
    n_per_backend: int = 20_000,
    drift: float = 0.10,
    block_len: int = 50,
    sigma: float = 0.1,
    seed: int = 0,
) -> Comparison:
    """Two identical backends on a machine slowing by `drift` linearly over the run, compared B vs A.

    `schedule` is ``blocked`` (all of A, then all of B) or ``interleaved`` (rounds of `block_len` calls per
    backend, order shuffled each round). Blocked order shows a confident false difference; interleaved does not.
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
    return compare_latencies(dur[owner == 0], dur[owner == 1], seed=seed)
