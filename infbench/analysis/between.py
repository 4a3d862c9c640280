"""Comparison of several sessions per side: the spread *between* whole runs decides, not the calls within one.

Two runs of the same thing on the same machine differ by more than the calls inside one run suggest (the
machine's state, process placement, neighbours change from run to run). With m sessions of A and n of B, each
session's median (or p99) is one observation; the ratio B/A is the ratio of geometric means and its 95 % CI a
pooled-variance t interval on the logarithms (m + n - 2 degrees of freedom), so it covers run-to-run variation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from infbench.analysis.compare import NO_DIFFERENCE, SLOWER, verdict_for


def log_ratio_interval(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> tuple[float, tuple[float, float], float]:
    """(geometric-mean ratio B/A, its t interval, two-sided p-value of ratio = 1) from per-session values.

    Needs at least 3 sessions in all and one per side; values must be positive.

    Raises:
        ValueError: with fewer sessions or non-positive values.
    """
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.size < 1 or xb.size < 1 or xa.size + xb.size < 3:
        raise ValueError("need at least one session per side and three in all")
    if not (np.all(np.isfinite(xa) & (xa > 0)) and np.all(np.isfinite(xb) & (xb > 0))):
        raise ValueError("session values must be positive and finite")
    la, lb = np.log(xa), np.log(xb)
    d = float(lb.mean() - la.mean())
    df = la.size + lb.size - 2
    ss = float(np.sum((la - la.mean()) ** 2) + np.sum((lb - lb.mean()) ** 2))
    se = math.sqrt(ss / df) * math.sqrt(1.0 / la.size + 1.0 / lb.size)
    if se == 0.0:
        return math.exp(d), (math.exp(d), math.exp(d)), (1.0 if d == 0.0 else 0.0)
    half = float(student_t.ppf(0.5 + level / 2, df)) * se
    p = float(2.0 * student_t.sf(abs(d) / se, df))
    return math.exp(d), (math.exp(d - half), math.exp(d + half)), p


def compare_between(
    a_medians: Sequence[float],
    b_medians: Sequence[float],
    a_p99s: Sequence[float],
    b_p99s: Sequence[float],
    threshold: float = 0.05,
) -> dict[str, Any]:
    """Per-backend comparison of sessions A1…Am with B1…Bn from each session's median and p99 (JSON-ready).

    The keys match `Comparison.to_dict()` (``n_a``/``n_b`` count sessions here), plus the per-session values.
    """
    ratio, ci, p = log_ratio_interval(a_medians, b_medians)
    p99_ratio, p99_ci, _ = log_ratio_interval(a_p99s, b_p99s)
    verdict = verdict_for(ci, p, threshold)
    m, n = len(a_medians), len(b_medians)
    return {
        "median_ratio": ratio,
        "median_ratio_ci95": list(ci),
        "p99_ratio": p99_ratio,
        "p99_ratio_ci95": list(p99_ci),
        "p_value": p,
        "verdict": verdict,
        "regression": verdict == SLOWER,
        "threshold": float(threshold),
        "n_a": m,
        "n_b": n,
        "ci_method": f"between-session t interval ({m} vs {n} sessions)",
        "session_medians_a": [float(x) for x in a_medians],
        "session_medians_b": [float(x) for x in b_medians],
    }


__all__ = ["NO_DIFFERENCE", "compare_between", "log_ratio_interval"]
