"""`LatencyHistogram`: a live log-bucket latency histogram with p50/p95/p99 marked."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from infbench.snapshot import bucket_mid_ms, bucket_of
from infbench.tui.fmt import fmt_ms
from infbench.tui.widgets.grid import Grid, GridWidget

BARS = " ▁▂▃▄▅▆▇█"
MARKS = (("p50", "green"), ("p95", "yellow"), ("p99", "red"))


class LatencyHistogram(GridWidget):
    """Vertical bars over log-spaced latency buckets (regrouped to the widget's width); the last row is an
    axis with ▲ under the p50 (green), p95 (yellow) and p99 (red) columns and the range at both ends."""

    DEFAULT_CSS = """
    LatencyHistogram { height: 1fr; min-height: 4; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._hist: np.ndarray | None = None
        self._quants: tuple[float, float, float] = (math.nan, math.nan, math.nan)
        self._key: tuple = ()

    def show(self, hist: np.ndarray, p50: float, p95: float, p99: float) -> None:
        """Set the bucket counts and the marked quantiles (ms); redraws only when a drawn cell changes."""
        key = (int(hist.sum()), p50, p95, p99)
        if key == self._key:
            return
        self._key = key
        self._hist, self._quants = hist, (p50, p95, p99)
        self._changed()

    def _cells(self, width: int, height: int) -> Text | Grid:
        """Characters, style indices and palette of the bars and axis (or a Text when there is nothing)."""
        hist = self._hist
        if hist is None or not hist.any():
            return Text("no measured calls yet", style="dim")
        nz = np.flatnonzero(hist)
        cum = np.cumsum(hist)
        n = cum[-1]
        lo = max(int(np.searchsorted(cum, 0.001 * n)) - 2, int(nz[0]))
        hi = min(int(np.searchsorted(cum, 0.999 * n)) + 2, int(nz[-1]))
        if hi - lo + 1 < width:  # zoom out so each column is at least one bucket
            pad = width - (hi - lo + 1)
            lo, hi = max(0, lo - pad // 2), hi + (pad - pad // 2)
        edges = np.linspace(lo, hi + 1, width + 1).astype(np.int64)
        edges = np.minimum(edges, hist.size)
        cols = np.add.reduceat(hist, np.minimum(edges[:-1], hist.size - 1))
        cols[edges[:-1] >= edges[1:]] = 0
        rows = height - 1
        scale = cols.max() or 1
        levels = np.ceil(cols / scale * rows * 8).astype(int)
        marks: dict[int, str] = {}
        for (_, style), q in zip(MARKS, self._quants):
            if math.isfinite(q):
                c = int(np.searchsorted(edges, int(bucket_of(np.array([q * 1e6]))[0]), side="right")) - 1
                marks.setdefault(min(max(c, 0), width - 1), style)
        fill = np.clip(levels[None, :] - np.arange(rows - 1, -1, -1)[:, None] * 8, 0, 8)
        chars = np.array(list(BARS))[fill]
        palette = ["cyan", "dim", *[style for _, style in MARKS]]
        styles = np.zeros((rows + 1, width), dtype=np.int64)
        axis = [" "] * width
        left, right = fmt_ms(float(bucket_mid_ms(lo))), fmt_ms(float(bucket_mid_ms(hi)))
        right = right[-(width // 2):]
        axis[: len(left[: width // 2])] = left[: width // 2]
        axis[width - len(right):] = right
        styles[rows, :] = 1
        for c, style in marks.items():
            axis[c] = "▲"
            styles[:, c] = palette.index(style)
        chars = np.vstack([chars, np.array(axis)[None, :]])
        return chars, styles, palette
