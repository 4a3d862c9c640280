"""`LatencyHistogram`: a live log-bucket latency histogram with the median, p95 and p99 marked."""

from __future__ import annotations

import math

import numpy as np
from textual.content import Content

from infbench.metrics import fmt_ms, metric
from infbench.tui.fmt import MUTED, P50_STYLE, P95_STYLE, P99_STYLE
from infbench.tui.snapshot import bucket_mid_ms, bucket_of
from infbench.tui.widgets.grid import Grid, GridWidget

BARS = " ▁▂▃▄▅▆▇█"
MARKS = tuple(
    (metric(key).label, style)
    for key, style in (("median_ms", P50_STYLE), ("p95_ms", P95_STYLE), ("p99_ms", P99_STYLE))
)
"""The quantiles marked under the bars: (metric label, marker style)."""
BAR_STYLE = "$primary"


class LatencyHistogram(GridWidget):
    """Vertical bars over log-spaced latency buckets (regrouped to the widget's width). Under the bars, a marker
    row (▲ under the median, p95 and p99 columns, which are drawn in the marker's colour) and a label row with the
    range's two ends and, between them when it fits, the legend of the markers: the labels have a row of their
    own, so no marker ever covers a digit."""

    DEFAULT_CSS = """
    LatencyHistogram { height: 1fr; min-height: 4; width: 1fr; }
    """
    MIN_SIZE = (10, 3)

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

    def _cells(self, width: int, height: int) -> Content | Grid:
        """Characters, style indices and palette of the bars, marker row and label row (or a Content line when
        there is nothing to plot)."""
        hist = self._hist
        if hist is None or not hist.any():
            return Content.styled("no measured calls yet", MUTED)
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
        rows = max(height - 2, 1)
        scale = cols.max() or 1
        levels = np.ceil(cols / scale * rows * 8).astype(int)
        marks: dict[int, str] = {}
        for (_, style), q in zip(MARKS, self._quants):
            if math.isfinite(q):
                c = int(np.searchsorted(edges, int(bucket_of(np.array([q * 1e6]))[0]), side="right")) - 1
                marks.setdefault(min(max(c, 0), width - 1), style)
        fill = np.clip(levels[None, :] - np.arange(rows - 1, -1, -1)[:, None] * 8, 0, 8)
        palette = [BAR_STYLE, MUTED, *[style for _, style in MARKS]]
        marker = np.array(["─"] * width)
        styles = np.zeros((rows + 2, width), dtype=np.int64)
        styles[rows:, :] = 1
        for c, style in marks.items():
            marker[c] = "▲"
            styles[: rows + 1, c] = palette.index(style)
        labels, label_styles = _label_row(
            width, fmt_ms(float(bucket_mid_ms(lo))), fmt_ms(float(bucket_mid_ms(hi)))
        )
        styles[rows + 1, :] = [palette.index(st) for st in label_styles]
        chars = np.vstack([np.array(list(BARS))[fill], marker[None, :], np.array(labels)[None, :]])
        return chars, styles, palette


def _label_row(width: int, left: str, right: str) -> tuple[list[str], list[str]]:
    """The range's ends at both edges and, when it fits between them, the marker legend ``▲median ▲p95 ▲p99`` in
    the markers' colours; the right end is dropped before the left one is cut when the row is too narrow."""
    chars = [" "] * width
    styles = [MUTED] * width
    if len(left) + 1 + len(right) > width:
        right = ""
    left = left[:width]
    chars[: len(left)] = left
    if right:
        chars[width - len(right) :] = right
    free = (len(left) + 1, width - len(right) - 1)  # cells the legend may use
    legend = [(f"▲{name}", style) for name, style in MARKS]
    size = sum(len(t) for t, _ in legend) + len(legend) - 1
    if free[1] - free[0] >= size:
        x = free[0] + (free[1] - free[0] - size) // 2
        for text, style in legend:
            for ch in text:
                chars[x], styles[x] = ch, style
                x += 1
            x += 1
    return chars, styles
