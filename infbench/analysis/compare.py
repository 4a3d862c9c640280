"""Fair comparison of two latency samples: bootstrap CI of the ratio of medians / p99s, a p-value, verdict.

A difference is called a win or a loss only when the 95 % CI of the ratio lies entirely outside the noise band
[1 - threshold, 1 + threshold] *and* the test agrees (p < 0.05). The noise band comes from the user
(default 5 %) or from an A/A run of one backend against itself (`noise_band_from_aa`).

The CIs resample the independent units (rounds of an interleaved run, turns, or blocks of calls; see
`intervals`); only calls that pass an independence check get the exact bootstrap of single calls, and then
the p-value is Mann-Whitney's; otherwise it comes from the same bootstrap as the CI. `ci_method` says which.

No resampling inside one run can see what is fixed for the life of an engine process (load order, memory
placement, which core it settled on): two identical engine processes differ by a steady offset that changes
from run to run. Ratio intervals therefore add a between-process term, `PROCESS_RATIO_SD` (the sd of log
ratio of two identical processes, measured by `bench/calibration.py` on this project's machine kind), in
quadrature with the bootstrap's half-width on the log scale — as a metrologist adds a type-B uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np

from infbench.analysis.intervals import Calls, as_calls, ratio_draws
from infbench.analysis.stats import DEFAULT_BOOTSTRAP

FASTER = "faster"
SLOWER = "slower"
NO_DIFFERENCE = "no significant difference"
ALPHA = 0.05
# Mann-Whitney on more than this many values per side is subsampled (evenly spaced in the given order, so it
# stays deterministic and covers the whole run); at 200k per side its power is already far beyond the CI's.
MWU_MAX_N = 200_000
# Between-process spread of the median ratio of two identical engines (log sd): 20 real A/A runs of
# `run bert-tiny -b ort --threads 1 --aa -d 8` on the 2-vCPU VM, load order randomized (BENCHMARKS.md).
PROCESS_RATIO_SD = 0.013
Z95 = 1.959964


@dataclass(frozen=True)
class Comparison:
    """B compared with A. Ratios are B / A (> 1: B is slower); the verdict is from B's point of view.

    Attributes:
        median_ratio: median(B) / median(A).
        median_ratio_ci95: bootstrap 95 % interval of that ratio.
        p99_ratio: p99(B) / p99(A).
        p99_ratio_ci95: bootstrap 95 % interval of that ratio.
        p_value: two-sided p-value: Mann-Whitney U for independent calls, else the bootstrap's.
        verdict: ``faster`` | ``slower`` | ``no significant difference``.
        regression: True when the verdict is ``slower``.
        threshold: half-width of the noise band used.
        n_a: number of samples of A.
        n_b: number of samples of B.
        ci_method: how the CIs were computed, e.g. ``paired round bootstrap (32 rounds)``.
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
    ci_method: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict (CIs as two-element lists)."""
        d = asdict(self)
        d["median_ratio_ci95"] = list(self.median_ratio_ci95)
        d["p99_ratio_ci95"] = list(self.p99_ratio_ci95)
        return d


def _subsample(x: np.ndarray, n_max: int = MWU_MAX_N) -> np.ndarray:
    if x.size <= n_max:
        return x
    return x[np.linspace(0, x.size - 1, n_max).astype(np.int64)]


def _ratio(b: float, a: float) -> float:
    if a > 0:
        return b / a
    return 1.0 if b == a else float("inf")


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value; each side evenly subsampled to at most `MWU_MAX_N` values."""
    a, b = _subsample(np.asarray(a, dtype=np.float64)), _subsample(np.asarray(b, dtype=np.float64))
    if a.size < 2 or b.size < 2 or (np.all(a == a[0]) and np.all(b == a[0])):
        return 1.0
    from scipy.stats import mannwhitneyu  # on first use: scipy.stats costs ~0.5 s on the live path

    return float(mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)


def verdict_for(ci: tuple[float, float], p_value: float, threshold: float) -> str:
    """``slower`` / ``faster`` when the CI clears the noise band and p < 0.05, else no significant difference."""
    if p_value < ALPHA and ci[0] > 1.0 + threshold:
        return SLOWER
    if p_value < ALPHA and ci[1] < 1.0 - threshold:
        return FASTER
    return NO_DIFFERENCE


def _widen(ci: tuple[float, float], ratio: float, sd: float) -> tuple[float, float]:
    """`ci` of `ratio` with a between-process log-sd `sd` added in quadrature on each side."""
    lo, hi = ci
    if not (ratio > 0 and lo > 0 and hi > 0 and math.isfinite(ratio)):
        return ci
    extra = (Z95 * sd) ** 2
    down = math.sqrt(max(0.0, math.log(ratio / lo)) ** 2 + extra)
    up = math.sqrt(max(0.0, math.log(hi / ratio)) ** 2 + extra)
    return ratio * math.exp(-down), ratio * math.exp(up)


def with_process_spread(c: Comparison, sd: float = PROCESS_RATIO_SD) -> Comparison:
    """The comparison with the between-process spread `sd` added to both ratio CIs, its p-value (normal on
    the log scale of the widened median interval) and its verdict; `ci_method` names the term."""
    if sd <= 0:
        return c
    med = _widen(c.median_ratio_ci95, c.median_ratio, sd)
    p99 = _widen(c.p99_ratio_ci95, c.p99_ratio, sd)
    p = c.p_value
    if c.median_ratio > 0 and med[0] > 0:
        se = math.log(med[1] / med[0]) / (2 * Z95)
        if se > 0:
            # two-sided normal tail: 2 * sf(z) = erfc(z / sqrt 2)
            p = max(p, math.erfc(abs(math.log(c.median_ratio)) / se / math.sqrt(2.0)))
    verdict = verdict_for(med, p, c.threshold)
    return replace(
        c,
        median_ratio_ci95=med,
        p99_ratio_ci95=p99,
        p_value=p,
        verdict=verdict,
        regression=verdict == SLOWER,
        ci_method=f"{c.ci_method} + between-process ±{100 * sd:.1f} %",
    )


def compare_latencies(
    a_dur_ns: np.ndarray | Calls,
    b_dur_ns: np.ndarray | Calls,
    threshold: float = 0.05,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    paired: bool = False,
    process_sd: float = PROCESS_RATIO_SD,
) -> Comparison:
    """Compare B's latencies with A's (any consistent unit; ns by convention), each in time order.

    Give `Calls` with turn indices to resample turns; `paired` when A and B are two backends of one
    interleaved run (turn k of each is in round k), so rounds are resampled together. The cost is one pass
    over the calls plus work proportional to the number of turns, so 10 million samples stay cheap.
    `process_sd` (log sd) is the between-process spread added to the ratio CIs (0: within-run only).

    Raises:
        ValueError: when either side is empty.
    """
    try:
        ca = as_calls(a_dur_ns)
    except ValueError:
        raise ValueError("A: no samples") from None
    try:
        cb = as_calls(b_dur_ns)
    except ValueError:
        raise ValueError("B: no samples") from None
    a, b = ca.dur, cb.dur
    sa, sb = np.sort(a), np.sort(b)
    rng = np.random.default_rng(seed)
    rd = ratio_draws(ca, cb, (0.5, 0.99), n_boot, rng, paired=paired)
    med_ci, p99_ci = rd.ci(0.5), rd.ci(0.99)
    p = mann_whitney_p(a, b) if rd.exact else rd.p_value(0.5)
    verdict = verdict_for(med_ci, p, threshold)
    return with_process_spread(
        Comparison(
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
            ci_method=rd.method,
        ),
        process_sd,
    )


def noise_band_from_aa(
    a1_ns: np.ndarray | Calls,
    a2_ns: np.ndarray | Calls,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    paired: bool = False,
) -> float:
    """Noise band half-width measured by an A/A run: half-width of the median-ratio CI plus |ratio - 1|.

    Use it as `threshold` for real comparisons on the same machine and settings. `paired` as in
    `compare_latencies` (the twin of `run --aa` runs in the same rounds as its original).
    """
    return noise_band(
        compare_latencies(
            a1_ns, a2_ns, threshold=0.0, n_boot=n_boot, seed=seed, paired=paired, process_sd=0.0
        )
    )


def noise_band(aa: Comparison) -> float:
    """Noise band half-width from an A/A comparison: half-width of its median-ratio CI plus |ratio - 1|.

    Give the within-run comparison (`process_sd=0`): |ratio - 1| already measures this run's process offset.
    """
    lo, hi = aa.median_ratio_ci95
    return float((hi - lo) / 2.0 + abs(aa.median_ratio - 1.0))


BASELINE = "baseline"  # the verdict of the fastest variant's own row in a relative table


def relative_comparisons(
    backends: Mapping[str, np.ndarray | Calls],
    threshold: float = 0.05,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    paired: bool = False,
) -> tuple[str | None, dict[str, Comparison]]:
    """(the fastest backend by median, each backend compared with it); `paired` as in `compare_latencies`.

    The baseline's own row has ratio 1.0 and verdict ``baseline``. Empty backends are left out.
    """
    samples = {k: as_calls(v) for k, v in backends.items() if np.size(v.dur if isinstance(v, Calls) else v)}
    if not samples:
        return None, {}
    medians = {k: float(np.median(v.dur)) for k, v in samples.items()}
    base = min(medians, key=medians.__getitem__)
    rows: dict[str, Comparison] = {}
    for name, values in samples.items():
        if name == base:
            n = int(values.dur.size)
            rows[name] = Comparison(
                1.0, (1.0, 1.0), 1.0, (1.0, 1.0), 1.0, BASELINE, False, float(threshold), n, n
            )
        else:
            rows[name] = compare_latencies(samples[base], values, threshold, n_boot, seed, paired)
    return base, rows


def p99_verdict(c: Comparison) -> str:
    """The verdict on the p99 ratio: ``slower`` / ``faster`` when its 95 % CI lies entirely outside the noise
    band (an interval that excludes 1 already has p < 0.05), else no significant difference."""
    return verdict_for(c.p99_ratio_ci95, 0.0, c.threshold)


def compare_generation(
    a: tuple[Calls, Calls],
    b: tuple[Calls, Calls],
    threshold: float = 0.05,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, dict]:
    """B vs A of a generating variant: ``ttft`` (time to first token, judged by its median ratio, as call
    latency) and ``itl`` (inter-token latency, judged by its p99 ratio: the tail a chat user feels).

    `a`, `b`: (TTFT per request, inter-token gap per step) with their requests' turns
    (`generation.generation_calls`). Each value is `Comparison.to_dict()` with its ``verdict`` and ``regression``
    by that rule and ``judged_by`` (``median`` or ``p99``).
    """
    ttft = compare_latencies(a[0], b[0], threshold, n_boot, seed)
    itl = compare_latencies(a[1], b[1], threshold, n_boot, seed)
    verdict = p99_verdict(itl)
    return {
        "ttft": {**ttft.to_dict(), "judged_by": "median"},
        "itl": {**itl.to_dict(), "verdict": verdict, "regression": verdict == SLOWER, "judged_by": "p99"},
    }
