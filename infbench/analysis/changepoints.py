"""Offline change points in block medians (PELT) and their classification as steps or drifts.

Works on log(block median), so thresholds are relative (0.02 ≈ 2 %) and independent of the model's speed. PELT
runs over a 5-block running median, so a burst of a few slow blocks (a spike) does not register as a level
shift; each change point is then re-placed on the raw series.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np

from infbench.analysis.blocks import BlockStats
from infbench.analysis.smoothing import median_filter

STEP = "step"
DRIFT = "drift"


@dataclass(frozen=True)
class Shift:
    """A sustained change of the block-median level.

    Attributes:
        t_ns: when the change began (start of the first block at the new level / of the ramp).
        kind: ``step`` (abrupt) or ``drift`` (gradual).
        before: level before, ns (median of block medians).
        after: level after, ns.
        ratio: after / before.
        t_end_ns: for a drift, where the ramp was last seen; for a step, equal to t_ns.
        backend: the backend label, if known.
    """

    t_ns: int
    kind: str
    before: float
    after: float
    ratio: float
    t_end_ns: int | None = None
    backend: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(x, dtype=np.float64), 1e-9))


def _robust_sigma_diff(y: np.ndarray) -> float:
    # Noise from first differences: insensitive to level shifts and trends.
    d = np.diff(y)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0)) if d.size else 0.0


def _sse(y: np.ndarray) -> float:
    return float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0


def classify_shift(block_medians: np.ndarray, lo: int, cp: int, hi: int) -> str:
    """``step`` or ``drift`` for a change at index `cp` within blocks [lo, hi).

    A step is fitted by two constant levels split at `cp`; a drift by one straight line over [lo, hi). The
    better fit (smaller squared error, same number of parameters) wins.
    """
    y = _log(block_medians)[lo:hi]
    c = cp - lo
    if c <= 0 or c >= y.size or y.size < 4:
        return STEP
    sse_step = _sse(y[:c]) + _sse(y[c:])
    x = np.arange(y.size, dtype=np.float64)
    coef = np.polyfit(x, y, 1)
    sse_line = float(np.sum((y - np.polyval(coef, x)) ** 2))
    return DRIFT if sse_line < sse_step else STEP


def _pelt(y: np.ndarray, penalty: float, min_size: int) -> list[int]:
    n = y.size
    s1 = np.concatenate([[0.0], np.cumsum(y)])
    s2 = np.concatenate([[0.0], np.cumsum(y * y)])
    f = np.full(n + 1, np.inf)
    f[0] = -penalty
    last = np.zeros(n + 1, dtype=np.int64)
    cand = np.empty(0, dtype=np.int64)
    for t in range(min_size, n + 1):
        tau = t - min_size
        if tau == 0 or tau >= min_size:
            cand = np.append(cand, tau)
        ln = t - cand
        cost = (s2[t] - s2[cand]) - (s1[t] - s1[cand]) ** 2 / ln
        vals = f[cand] + cost + penalty
        j = int(np.argmin(vals))
        f[t], last[t] = vals[j], cand[j]
        cand = cand[vals - penalty <= f[t]]  # PELT pruning
    cps, t = [], n
    while t > 0:
        t = int(last[t])
        if t > 0:
            cps.append(t)
    return sorted(cps)


def _refine(y: np.ndarray, cps: list[int], reach: int = 3, window: int = 20) -> list[int]:
    # The running median can move a boundary by a block or two; re-place each on the raw series.
    bounds = [0, *cps, y.size]
    out = []
    for i, cp in enumerate(cps):
        a, b = max(bounds[i] + 1, cp - window), min(bounds[i + 2] - 1, cp + window)
        cands = range(max(a + 1, cp - reach), min(b, cp + reach + 1))
        out.append(min(cands, key=lambda c: _sse(y[a:c]) + _sse(y[c:b])) if len(cands) else cp)
    return out


def change_points(
    block_medians: np.ndarray, penalty: float | None = None, min_size: int = 5, min_rel_change: float = 0.02
) -> list[int]:
    """Indices where a new level begins in a series of block medians (PELT, normal mean-shift cost).

    The series is log-transformed, smoothed by a 5-block running median and scaled by its robust noise.
    `penalty` (in units of that noise's variance) defaults to 12·log(n). Adjacent segments whose medians
    differ by less than `min_rel_change` are merged afterwards.
    """
    y_raw = _log(block_medians)
    n = y_raw.size
    if n < 2 * min_size:
        return []
    y = median_filter(y_raw, size=5, mode="nearest")
    sigma = max(_robust_sigma_diff(y_raw) / 2.0, 1e-3)  # a 5-median roughly halves the noise
    pen = 12.0 * np.log(n) if penalty is None else float(penalty)
    cps = _refine(y_raw, _pelt(y / sigma, pen, min_size))
    min_d = np.log1p(min_rel_change)
    while cps:
        bounds = [0, *cps, n]
        levels = [float(np.median(y_raw[a:b])) for a, b in pairwise(bounds)]
        diffs = np.abs(np.diff(levels))
        j = int(np.argmin(diffs))
        if diffs[j] >= min_d:
            break
        del cps[j]
    return cps


def _trend(y: np.ndarray) -> float:
    # Total change across a segment according to its least-squares line (log units).
    if y.size < 4:
        return 0.0
    x = np.arange(y.size, dtype=np.float64)
    return float(np.polyfit(x, y, 1)[0] * (y.size - 1))


def detect_shifts(
    blocks: BlockStats, penalty: float | None = None, backend: str | None = None, min_rel_change: float = 0.02
) -> list[Shift]:
    """Steps and drifts over a whole series (offline, for `report`).

    PELT splits a slow ramp into a staircase of same-direction change points whose segments are themselves
    sloped; such runs (and a lone change point next to a sloped segment) are reported as one ``drift`` from
    its first to its last change point. Other change points are ``step``s.
    """
    med = blocks.median_ns
    y = _log(med)
    cps = change_points(med, penalty=penalty, min_rel_change=min_rel_change)
    bounds = [0, *cps, len(med)]
    levels = [float(np.median(y[a:b])) for a, b in pairwise(bounds)]
    trends = [_trend(y[a:b]) for a, b in pairwise(bounds)]
    jumps = np.diff(levels)

    def sloped(seg: int, sign: float, jump: float) -> bool:
        return sign * trends[seg] >= 0.25 * abs(jump)

    out: list[Shift] = []
    i = 0
    while i < len(cps):
        sign = np.sign(jumps[i])
        j = i
        while j + 1 < len(cps) and np.sign(jumps[j + 1]) == sign and sloped(j + 1, sign, jumps[j]):
            j += 1
        drift = j > i or sloped(i, sign, jumps[i]) or sloped(i + 1, sign, jumps[i])
        before, after = float(np.exp(levels[i])), float(np.exp(levels[j + 1]))
        t0, t1 = int(blocks.t0_ns[cps[i]]), int(blocks.t0_ns[cps[j]])
        prev = out[-1] if out else None
        if (
            drift
            and prev is not None
            and prev.kind == DRIFT
            and (after > before) == (prev.after > prev.before)
        ):
            out[-1] = Shift(prev.t_ns, DRIFT, prev.before, after, after / prev.before, t1, backend)
        else:
            out.append(Shift(t0, DRIFT if drift else STEP, before, after, after / before, t1, backend))
        i = j + 1
    return out
