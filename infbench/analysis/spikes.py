"""Online latency-spike detection on time blocks: robust z-score against a trailing window, with hysteresis.

Each block's median and p90 are scored against the median and MAD of the previous `window` blocks. The MAD has
a floor relative to the level, so a very steady series does not turn a 1 % wobble into an alarm. A spike opens
at z >= `z_on` and closes once z stays below `z_off` for `cooldown` blocks. Only slowdowns are reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from infbench.analysis.blocks import BlockStats

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Spike:
    """A burst of slow blocks.

    Attributes:
        t_start_ns: start of the first slow block.
        t_end_ns: end of the last slow block.
        backend: the backend label, if known.
        severity: peak robust z-score.
        ratio: block statistic / trailing baseline at the peak.
        metric: the block statistic that peaked (``median`` or ``p90``).
    """

    t_start_ns: int
    t_end_ns: int
    backend: str | None
    severity: float
    ratio: float
    metric: str

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


class SpikeDetector:
    """Incremental spike detector for one backend: feed it new blocks with `update`, in time order."""

    def __init__(
        self,
        backend: str | None = None,
        metrics: tuple[str, ...] = ("median", "p90"),
        window: int = 100,
        min_history: int = 20,
        z_on: float = 5.5,
        z_off: float = 3.0,
        cooldown: int = 2,
        min_rel_mad: float = 0.01,
        min_count: int = 5,
    ) -> None:
        """Configure the detector (window and cooldown in blocks; `min_rel_mad` is the MAD floor / level)."""
        self.backend = backend
        self.metrics = tuple(metrics)
        self.min_history = min_history
        self.z_on, self.z_off, self.cooldown = z_on, z_off, cooldown
        self.min_rel_mad, self.min_count = min_rel_mad, min_count
        self.window = window
        self._hist = {m: np.empty(0, np.float64) for m in self.metrics}
        self._open: dict | None = None
        self._quiet = 0

    @property
    def active(self) -> Spike | None:
        """The spike in progress, if any (its end is the last slow block so far)."""
        return self._as_spike(self._open) if self._open else None

    def _as_spike(self, s: dict) -> Spike:
        return Spike(s["t0"], s["t1"], self.backend, s["z"], s["ratio"], s["metric"])

    def _scores(self, metric: str, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Robust z and ratio of each new value against the `window` values before it (NaN: too little history)."""
        hist = self._hist[metric]
        full = np.concatenate([hist, new])
        pos = np.arange(hist.size, full.size)
        base = np.full(new.size, np.nan)
        mad = np.full(new.size, np.nan)
        full_w = pos >= self.window
        if full_w.any():  # the common case, vectorised: every window is complete
            win = sliding_window_view(full, self.window)[pos[full_w] - self.window]
            med = np.median(win, axis=1)
            base[full_w] = med
            mad[full_w] = np.median(np.abs(win - med[:, None]), axis=1)
        for j in np.flatnonzero(~full_w & (pos >= self.min_history)):  # only at the very start
            win = full[: pos[j]]
            base[j] = np.median(win)
            mad[j] = np.median(np.abs(win - base[j]))
        mad = np.maximum(mad, np.maximum(self.min_rel_mad * np.abs(base), 1e-12))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (new - base) / (MAD_TO_SIGMA * mad), new / base

    def update(self, blocks: BlockStats) -> list[Spike]:
        """Process new blocks (later than any seen before); return the spikes that ended within them."""
        ok = blocks.count >= self.min_count  # too few calls: no score, no history
        t0s = blocks.t0_ns[ok]
        if t0s.size == 0:
            return []
        zs, ratios = [], []
        for m in self.metrics:
            new = blocks.stat(m)[ok].astype(np.float64)
            z, r = self._scores(m, new)
            zs.append(z)
            ratios.append(r)
            self._hist[m] = np.concatenate([self._hist[m], new])[-self.window :]
        z_all, r_all = np.vstack(zs), np.vstack(ratios)
        best = np.argmax(np.where(np.isnan(z_all), -np.inf, z_all), axis=0)
        cols = np.arange(t0s.size)
        z_best, r_best = z_all[best, cols], r_all[best, cols]
        done: list[Spike] = []
        for i in np.flatnonzero(~np.isnan(z_best)):
            t0 = int(t0s[i])
            done.extend(
                self._step(
                    t0, t0 + blocks.block_ns, float(z_best[i]), float(r_best[i]), self.metrics[best[i]]
                )
            )
        return done

    def _step(self, t0: int, t1: int, z: float, ratio: float, metric: str) -> list[Spike]:
        s = self._open
        if s is None:
            if z >= self.z_on:
                self._open = {"t0": t0, "t1": t1, "z": z, "ratio": ratio, "metric": metric}
                self._quiet = 0
            return []
        if z >= self.z_off:
            s["t1"], self._quiet = t1, 0
            if z > s["z"]:
                s.update(z=z, ratio=ratio, metric=metric)
            return []
        self._quiet += 1
        if self._quiet >= self.cooldown:
            self._open = None
            return [self._as_spike(s)]
        return []

    def flush(self) -> list[Spike]:
        """Close the spike in progress (end of data) and return it."""
        s, self._open = self._open, None
        return [self._as_spike(s)] if s else []


def detect_spikes(blocks: BlockStats, backend: str | None = None, **kwargs) -> list[Spike]:
    """All spikes in a whole series of blocks (offline: `SpikeDetector.update` then `flush`)."""
    det = SpikeDetector(backend=backend, **kwargs)
    return det.update(blocks) + det.flush()
