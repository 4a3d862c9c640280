"""Online slowdown detection on blocks: robust z-score against a trailing window, with hysteresis.

Each block's statistics (median; p90 when blocks hold enough calls to have a tail; ``cycle``, the in-turn time
per call, whose rise is a throughput collapse) are scored against the median and MAD of the previous `window`
blocks. The MAD has a floor relative to the level, so a very steady series does not turn a 1 % wobble into an
alarm. A spike opens at z >= `z_on` and closes once z stays below `z_off` for `cooldown` blocks; blocks of an
open spike do not enter the baseline (for up to `window` blocks), so a long slowdown is not learnt as normal.
A spike is reported only when it is worth a look: at least `min_blocks` slow blocks or `min_span_ns` of time,
and a peak ratio of at least `min_ratio`. Only slowdowns are reported.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from infbench.analysis.blocks import BlockStats

MAD_TO_SIGMA = 1.4826
TAIL_MIN_CALLS = 5  # below this many calls per block, p90 is just another name for the median


@dataclass(frozen=True)
class Spike:
    """A burst of slow blocks.

    Attributes:
        t_start_ns: start of the first slow block.
        t_end_ns: end of the last slow block.
        backend: the backend label, if known.
        severity: peak robust z-score.
        ratio: block statistic / trailing baseline at the peak.
        metric: the block statistic that peaked (``median``, ``p90`` or ``cycle``).
        blocks: number of slow blocks (z >= z_off) in the spike.
    """

    t_start_ns: int
    t_end_ns: int
    backend: str | None
    severity: float
    ratio: float
    metric: str
    blocks: int = 1

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def default_metrics(calls_per_block: int) -> tuple[str, ...]:
    """The block statistics worth scoring at this block size."""
    if calls_per_block >= TAIL_MIN_CALLS:
        return ("median", "p90", "cycle")
    return ("median", "cycle")


class SpikeDetector:
    """Incremental spike detector for one backend: feed it new blocks with `update`, in time order."""

    def __init__(
        self,
        backend: str | None = None,
        metrics: tuple[str, ...] = ("median", "p90", "cycle"),
        window: int = 100,
        min_history: int = 10,
        z_on: float = 6.0,
        z_off: float = 3.0,
        cooldown: int = 2,
        min_rel_mad: float = 0.02,
        min_count: int = 1,
        min_blocks: int = 2,
        min_span_ns: int = 1_000_000_000,
        min_ratio: float = 1.10,
    ) -> None:
        """Configure the detector (window, history and cooldown in blocks; `min_rel_mad` = MAD floor / level)."""
        self.backend = backend
        self.metrics = tuple(metrics)
        self.window, self.min_history = window, min_history
        self.z_on, self.z_off, self.cooldown = z_on, z_off, cooldown
        self.min_rel_mad, self.min_count = min_rel_mad, min_count
        self.min_blocks, self.min_span_ns, self.min_ratio = min_blocks, min_span_ns, min_ratio
        self._hist: dict[str, deque[float]] = {m: deque(maxlen=window) for m in self.metrics}
        self._open: dict | None = None
        self._quiet = 0
        self.blocks_seen = 0

    @property
    def ready(self) -> bool:
        """Whether enough history has been seen for blocks to be scored."""
        return self.blocks_seen >= self.min_history

    @property
    def active(self) -> Spike | None:
        """The spike in progress, if any (its end is the last slow block so far)."""
        return self._as_spike(self._open) if self._open else None

    def _as_spike(self, s: dict) -> Spike:
        return Spike(s["t0"], s["t1"], self.backend, s["z"], s["ratio"], s["metric"], s["n"])

    def _score(self, values: dict[str, float]) -> tuple[float, float, str]:
        """(peak z, its ratio, its metric) of one block against the trailing window; z NaN without history."""
        best = (float("nan"), float("nan"), self.metrics[0])
        for m, v in values.items():
            hist = self._hist[m]
            if len(hist) < self.min_history:
                continue
            h = np.fromiter(hist, np.float64, len(hist))
            base = float(np.median(h))
            mad = max(float(np.median(np.abs(h - base))), self.min_rel_mad * abs(base), 1e-12)
            z = (v - base) / (MAD_TO_SIGMA * mad)
            if not z <= best[0]:  # also replaces the NaN start
                best = (z, v / base if base > 0 else float("inf"), m)
        return best

    def update(self, blocks: BlockStats) -> list[Spike]:
        """Process new blocks (later than any seen before); return the spikes that ended within them."""
        ok = np.flatnonzero(blocks.count >= self.min_count)
        cols = {m: blocks.stat(m) for m in self.metrics}
        done: list[Spike] = []
        for i in ok.tolist():
            values = {m: float(cols[m][i]) for m in self.metrics}
            z, ratio, metric = self._score(values)
            self.blocks_seen += 1
            slow = bool(z >= self.z_off)
            learning = self._open is None or not slow or self._open["n"] >= self.window
            if learning:
                for m, v in values.items():
                    self._hist[m].append(v)
            if not math.isnan(z):  # scored
                done.extend(self._step(int(blocks.t0_ns[i]), int(blocks.t1_ns[i]), z, ratio, metric))
        return done

    def _step(self, t0: int, t1: int, z: float, ratio: float, metric: str) -> list[Spike]:
        s = self._open
        if s is None:
            if z >= self.z_on:
                self._open = {"t0": t0, "t1": t1, "z": z, "ratio": ratio, "metric": metric, "n": 1}
                self._quiet = 0
            return []
        if z >= self.z_off:
            s["t1"], s["n"], self._quiet = t1, s["n"] + 1, 0
            if z > s["z"]:
                s.update(z=z, ratio=ratio, metric=metric)
            return []
        self._quiet += 1
        if self._quiet >= self.cooldown:
            self._open = None
            return self._worth([self._as_spike(s)])
        return []

    def _worth(self, spikes: list[Spike]) -> list[Spike]:
        return [
            s
            for s in spikes
            if s.ratio >= self.min_ratio
            and (s.blocks >= self.min_blocks or s.t_end_ns - s.t_start_ns >= self.min_span_ns)
        ]

    def flush(self) -> list[Spike]:
        """Close the spike in progress (end of data) and return it, if it is worth reporting."""
        s, self._open = self._open, None
        return self._worth([self._as_spike(s)]) if s else []


def detect_spikes(blocks: BlockStats, backend: str | None = None, **kwargs) -> list[Spike]:
    """All spikes in a whole series of blocks (offline: `SpikeDetector.update` then `flush`)."""
    det = SpikeDetector(backend=backend, **kwargs)
    return det.update(blocks) + det.flush()
