"""Level shifts in block medians: online CUSUM, warm-up end, burst vs sustained; re-exports the offline part.

Everything works on log(block median), so thresholds are relative. Short spikes are the spike detector's job:
CUSUM increments are clipped, so a burst of a few very slow blocks cannot reach the alarm level. Offline change
points (PELT), `detect_shifts`, `classify_shift` and `Shift` live in `changepoints` and are importable from here.
"""

from __future__ import annotations

import numpy as np

from infbench.analysis.blocks import BlockStats, weighted_median
from infbench.analysis.changepoints import (
    DRIFT,
    STEP,
    Shift,
    _log,
    _robust_sigma_diff,
    change_points,
    classify_shift,
    detect_shifts,
)
from infbench.analysis.smoothing import median_filter

__all__ = [
    "DRIFT",
    "STEP",
    "CusumDetector",
    "Shift",
    "burst_vs_sustained",
    "change_points",
    "classify_shift",
    "detect_shifts",
    "warmup_end",
]


class CusumDetector:
    """Online two-sided CUSUM on log block medians; re-calibrates on the new level after each alarm.

    The first `calib` usable blocks set the level (median) and noise (MAD, floored at `min_rel_sigma`).
    Standardised increments are clipped at ±`clip` so a few very slow blocks (a spike) cannot reach `h`.
    """

    def __init__(
        self,
        backend: str | None = None,
        calib: int = 50,
        k: float = 1.0,
        h: float = 10.0,
        clip: float = 3.0,
        min_rel_sigma: float = 0.01,
        min_count: int = 5,
        min_rel_change: float = 0.02,
    ) -> None:
        """Configure the detector (`k`, `h` in noise units; `calib` in blocks; smaller changes are not reported)."""
        self.backend, self.calib, self.k, self.h, self.clip = backend, calib, k, h, clip
        self.min_rel_change = min_rel_change
        self.min_rel_sigma, self.min_count = min_rel_sigma, min_count
        self._reset([], [])

    def _reset(self, ys: list[float], ts: list[int]) -> None:
        self._cal_y, self._cal_t = list(ys), list(ts)
        self._mu: float | None = None
        self._sigma = 1.0
        self._hi = self._lo = 0.0
        self._hi_start = self._lo_start = 0
        self._run_y: list[float] = []
        self._run_t: list[int] = []
        self._maybe_calibrate()

    def _maybe_calibrate(self) -> None:
        if self._mu is None and len(self._cal_y) >= self.calib:
            y = np.asarray(self._cal_y[-self.calib :])
            self._mu = float(np.median(y))
            self._sigma = max(float(1.4826 * np.median(np.abs(y - self._mu))), self.min_rel_sigma)

    @property
    def level_ns(self) -> float | None:
        """The calibrated level (ns), or None while calibrating."""
        return float(np.exp(self._mu)) if self._mu is not None else None

    def update(self, blocks: BlockStats) -> list[Shift]:
        """Process new blocks in time order; return the shifts confirmed within them."""
        out: list[Shift] = []
        ok = blocks.count >= self.min_count
        for y, t in zip(_log(blocks.median_ns[ok]).tolist(), blocks.t0_ns[ok].tolist()):
            if self._mu is None:
                self._cal_y.append(y)
                self._cal_t.append(t)
                self._maybe_calibrate()
                continue
            z = float(np.clip((y - self._mu) / self._sigma, -self.clip, self.clip))
            if self._hi == 0.0 and self._lo == 0.0:
                self._run_y, self._run_t = [], []
                self._hi_start = self._lo_start = 0
            self._run_y.append(y)
            self._run_t.append(t)
            self._hi, self._lo = max(0.0, self._hi + z - self.k), max(0.0, self._lo - z - self.k)
            # Change-time estimate: the block after each side's sum was last zero.
            if self._hi == 0.0:
                self._hi_start = len(self._run_y)
            if self._lo == 0.0:
                self._lo_start = len(self._run_y)
            if self._hi > self.h or self._lo > self.h:
                shift = self._alarm()
                if abs(np.log(shift.ratio)) >= np.log1p(self.min_rel_change):
                    out.append(shift)
        return out

    def _alarm(self) -> Shift:
        mu = self._mu
        assert mu is not None, "alarms are raised only after calibration"
        before_y = np.asarray(self._cal_y[-self.calib :])
        run = np.asarray(self._run_y)
        start = min(self._hi_start if self._hi > self.h else self._lo_start, run.size - 1)
        series = np.exp(np.concatenate([before_y, run]))
        kind = classify_shift(series, 0, before_y.size + start, series.size)
        before, after = float(np.exp(mu)), float(np.exp(np.median(run[start:])))
        shift = Shift(self._run_t[start], kind, before, after, after / before, self._run_t[-1], self.backend)
        self._reset([], [])  # calibrate afresh on blocks after the alarm: the change time is only an estimate
        return shift


def warmup_end(blocks: BlockStats, rel_tol: float = 0.05, smooth: int = 9) -> int | None:
    """t0 of the first block at the steady level, when the run starts slower than it; None if it does not.

    Steady level = median of the block medians in the second quarter (early enough not to be moved by a later
    drift). A block is at that level when the `smooth`-block running median is within max(`rel_tol`, 3 sigmas
    of that running median) above it. Only the first half is searched; a run at the level from its first block
    has no warm-up.
    """
    n = len(blocks)
    if n < 4 * smooth:
        return None
    y = _log(blocks.median_ns)
    sm = median_filter(y, size=smooth, mode="mirror")
    target = float(np.median(y[n // 4 : n // 2]))
    # Noise of a running median of `smooth` blocks, from first differences (blind to trends and steps).
    sigma = 1.25 * _robust_sigma_diff(y) / np.sqrt(smooth)
    tol = max(np.log1p(rel_tol), 3.0 * sigma)
    at_level = np.flatnonzero(sm[: n // 2] <= target + tol)
    if at_level.size == 0 or at_level[0] == 0:
        return None
    return int(blocks.t0_ns[at_level[0]])


def burst_vs_sustained(blocks: BlockStats, burst_s: float = 5.0, rel_tol: float = 0.05) -> dict:
    """Burst (first `burst_s` seconds) vs sustained (the rest) median latency, and when a slowdown set in.

    Returns:
        ``{"burst_s", "burst_median_ns", "sustained_median_ns", "ratio", "sustained_slowdown",
        "slowdown_start_ns"}``; medians are block medians weighted by call counts; the start is None unless
        sustained is more than `rel_tol` slower than burst.
    """
    res = {
        "burst_s": burst_s,
        "burst_median_ns": None,
        "sustained_median_ns": None,
        "ratio": None,
        "sustained_slowdown": False,
        "slowdown_start_ns": None,
    }
    if len(blocks) == 0:
        return res
    cut = int(np.searchsorted(blocks.t0_ns, blocks.t0_ns[0] + int(burst_s * 1e9)))
    if cut >= len(blocks):
        return res
    med, w = blocks.median_ns, blocks.count
    burst, sust = weighted_median(med[:cut], w[:cut]), weighted_median(med[cut:], w[cut:])
    ratio = sust / burst if burst > 0 else float("inf")
    res.update(burst_median_ns=burst, sustained_median_ns=sust, ratio=ratio)
    if ratio <= 1.0 + rel_tol:
        return res
    res["sustained_slowdown"] = True
    limit = burst * (1.0 + rel_tol)
    bounds = [*change_points(med), len(med)]
    for i, cp in enumerate(bounds[:-1]):
        levels = [np.median(med[a:b]) for a, b in zip(bounds[i:-1], bounds[i + 1 :])]
        if min(levels) > limit:
            res["slowdown_start_ns"] = int(blocks.t0_ns[cp])
            return res
    # No clean change point (slow drift): the last time the smoothed level was still below the limit.
    below = np.flatnonzero(median_filter(med, size=5, mode="nearest") <= limit)
    start = int(below[-1]) + 1 if below.size else 0
    res["slowdown_start_ns"] = int(blocks.t0_ns[min(start, len(med) - 1)])
    return res
