"""Warnings about unstable measurements, in the spirit of hyperfine and pyperf."""

from __future__ import annotations

import numpy as np

CV_LIMIT = 0.10
OUTLIER_Z = 3.5  # modified z-score (Iglewicz & Hoaglin), as hyperfine
OUTLIER_FRACTION = 0.05
MIN_ITERATIONS = 30
COLD_START_FACTOR = 2.0


def modified_z(x: np.ndarray) -> np.ndarray:
    """0.6745 · (x - median) / MAD for each value (0 where the MAD is 0 and x is the median, inf otherwise)."""
    x = np.asarray(x, dtype=np.float64)
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad == 0:
        return np.where(x == med, 0.0, np.inf)
    return 0.6745 * (x - med) / mad


def stability_warnings(
    dur_ns: np.ndarray, first_inference_ms: float | None = None, median_ms: float | None = None
) -> list[str]:
    """One line per problem with a backend's measured durations (ns): few iterations, CV > 10 %, many
    outliers (modified z > 3.5 for more than 5 %), slow first call (> 2 × median: cold start)."""
    d = np.asarray(dur_ns, dtype=np.float64).ravel()
    out: list[str] = []
    if d.size == 0:
        return ["no measured iterations"]
    if d.size < MIN_ITERATIONS:
        out.append(f"only {d.size} iterations (< {MIN_ITERATIONS}): statistics are rough; run longer")
    if d.size >= 2:
        mean = float(d.mean())
        cv = float(d.std(ddof=1)) / mean if mean > 0 else 0.0
        if cv > CV_LIMIT:
            out.append(f"unstable: coefficient of variation {100 * cv:.0f} % (> {100 * CV_LIMIT:.0f} %)")
    if d.size >= 10:
        frac = float(np.mean(np.abs(modified_z(d)) > OUTLIER_Z))
        if frac > OUTLIER_FRACTION:
            out.append(
                f"{100 * frac:.0f} % of iterations are outliers (modified z-score > {OUTLIER_Z}): "
                "background load or throttling?"
            )
    med = median_ms if median_ms is not None else float(np.median(d)) / 1e6
    if first_inference_ms is not None and med > 0 and first_inference_ms > COLD_START_FACTOR * med:
        out.append(f"first call was {first_inference_ms / med:.1f}× slower: cold start")
    return out
