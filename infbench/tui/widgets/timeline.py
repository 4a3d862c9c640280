"""`LatencyTimeline`: per-block median (bars) and max (dots) over time, with spike/throttle/mark markers."""

from __future__ import annotations

import math

import numpy as np
from textual.content import Content

from infbench.metrics import fmt_ms
from infbench.tui.fmt import MUTED, WARN, kind_style
from infbench.tui.snapshot import BLOCK_S
from infbench.tui.widgets.grid import Grid, GridWidget
from infbench.vocab import EventKind

BARS = " ▁▂▃▄▅▆▇█"
MEDIAN_STYLE, MAX_STYLE = "$primary", "$accent"
SPIKE_STYLE, MARK_STYLE = kind_style(EventKind.SPIKE)[1], kind_style(EventKind.MARK)[1]
THROTTLE_STYLE = f"bold {WARN}"  # a span, not the throttle_on event: drawn in the warning colour


class LatencyTimeline(GridWidget):
    """One column per 0.5 s block on a time axis shared by all panels (the latest blocks when the run is
    longer than the widget): the block median as a bar, the block max as a dot above it. The bottom row marks
    spikes (▲, error colour), throttling (━, warning colour) and user marks (⚑)."""

    DEFAULT_CSS = """
    LatencyTimeline { height: 1fr; min-height: 4; width: 1fr; }
    """
    MIN_SIZE = (10, 3)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: tuple | None = None
        self._key: tuple = ()

    def show(
        self,
        t_s: float,
        tl_t: np.ndarray,
        tl_med: np.ndarray,
        tl_max: np.ndarray,
        spikes: tuple[float, ...],
        throttle: tuple[tuple[float, float | None], ...],
        marks: tuple[float, ...],
    ) -> None:
        """Set the blocks (start s, median ms, max ms), the current time and the markers; refreshes only when
        a drawn cell changes."""
        key = (
            math.ceil(t_s / BLOCK_S),
            int(t_s / BLOCK_S),
            id(tl_t),
            id(tl_med),
            id(tl_max),
            spikes,
            throttle,
            marks,
        )
        if key == self._key:
            return
        self._key = key
        self._data = (t_s, tl_t, tl_med, tl_max, spikes, throttle, marks)
        self._changed()

    def _cells(self, width: int, height: int) -> Content | Grid:
        """Characters, style indices and palette of the plot (or a Content line when there is nothing to plot)."""
        if self._data is None or self._data[1].size == 0:
            return Content.styled("timeline: waiting for measured calls", MUTED)
        t_s, tl_t, tl_med, tl_max, spikes, throttle, marks = self._data
        first = max(0, math.ceil(t_s / BLOCK_S) - width)
        col = np.round(tl_t / BLOCK_S).astype(np.int64) - first
        keep = (col >= 0) & (col < width)
        col, med, mx = col[keep], tl_med[keep], tl_max[keep]
        rows = height - 2
        top = float(mx.max()) if mx.size else 1.0
        low = 0.9 * float(med.min()) if med.size else 0.0
        log = low > 0 and top / low > 10  # tails far above the median (the null engine): log scale

        def y(v: np.ndarray) -> np.ndarray:
            if log:
                return np.log(np.maximum(v, low) / low) / np.log(top / low)
            return (v - low) / (top - low if top > low else 1.0)

        lvl_med = np.full(width, -1, dtype=int)
        lvl_max = np.full(width, -1, dtype=int)
        lvl_med[col] = np.maximum(np.ceil(y(med) * rows * 8).astype(int), 1)
        lvl_max[col] = np.minimum((y(mx) * rows).astype(int), rows - 1)
        scale = f"{fmt_ms(low)}–{fmt_ms(top)}{' log' if log else ''}  ▇ block median  • block max"
        r_idx = np.arange(rows - 1, -1, -1)[:, None]
        fill = np.clip(lvl_med[None, :] - r_idx * 8, 0, 8)
        chars = np.array(list(BARS))[fill]
        styles = np.zeros((rows + 2, width), dtype=np.int64)
        dots = (fill == 0) & (lvl_max[None, :] == r_idx) & (lvl_med[None, :] >= 0)
        chars[dots] = "•"
        styles[1:-1][dots] = 1
        head = np.array(list(scale[:width].ljust(width)))
        cells = self._marker_row(width, first, t_s, spikes, throttle, marks)
        palette = [MEDIAN_STYLE, MAX_STYLE, MUTED, THROTTLE_STYLE, MARK_STYLE, SPIKE_STYLE]
        styles[0, :] = 2
        styles[-1, :] = [palette.index(st) for _, st in cells]
        chars = np.vstack([head[None, :], chars, np.array([ch for ch, _ in cells])[None, :]])
        return chars, styles, palette

    @staticmethod
    def _marker_row(
        width: int,
        first: int,
        t_s: float,
        spikes: tuple[float, ...],
        throttle: tuple[tuple[float, float | None], ...],
        marks: tuple[float, ...],
    ) -> list[tuple[str, str]]:
        cells: list[tuple[str, str]] = [("─", MUTED)] * width

        def at(t: float) -> int:
            return int(t / BLOCK_S) - first

        for a, b in throttle:
            end = at(b if b is not None else t_s)
            for c in range(max(at(a), 0), min(end, width - 1) + 1):
                cells[c] = ("━", THROTTLE_STYLE)
        for t in marks:
            if 0 <= at(t) < width:
                cells[at(t)] = (EventKind.MARK.glyph, MARK_STYLE)
        for t in spikes:
            if 0 <= at(t) < width:
                cells[at(t)] = (EventKind.SPIKE.glyph, SPIKE_STYLE)
        return cells
