"""The plots and the statistics line of a generating variant (``--task generate``) in its backend panel.

`GenerationPlots` takes the place of the call-latency histogram and timeline: a time-to-first-token histogram
and an inter-token-latency histogram (the `LatencyHistogram` of every panel, median/p95/p99 marked) side by
side, and a decode tokens/s timeline under them (`TokenRateTimeline`, one column per 0.5 s block, ITL spikes
and steps marked as on the latency timeline). `generation_lines` is the panel's line of figures. Live and
replay draw the same `snapshot.BackendSnap.generation`.
"""

from __future__ import annotations

import math

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from infbench.metrics import fmt_ms, fmt_rate, metric
from infbench.tui.fmt import MUTED, pack
from infbench.tui.gen_snap import GenSnap
from infbench.tui.snapshot import BLOCK_S, BackendSnap, Snapshot
from infbench.tui.widgets.grid import Grid, GridWidget
from infbench.tui.widgets.histogram import LatencyHistogram
from infbench.tui.widgets.timeline import LatencyTimeline

BARS = " ▁▂▃▄▅▆▇█"
RATE_STYLE = "$primary"


def generation_lines(b: BackendSnap, width: int) -> list[Content]:
    """``TTFT 20.1 ms  ITL 4.02 ms  ITL p99 4.51 ms  500/s decode`` for a generating variant ([] otherwise)."""
    g = b.generation
    if g is None:
        return []
    items = [
        Content.assemble((f"{metric('ttft_median_ms').label} ", MUTED), (fmt_ms(g.ttft_q[0]), "bold")),
        Content.assemble((f"{metric('itl_median_ms').label} ", MUTED), (fmt_ms(g.itl_q[0]), "bold")),
        Content.assemble((f"{metric('itl_p99_ms').label} ", MUTED), fmt_ms(g.itl_q[2])),
        Content.assemble(fmt_rate(g.decode_tps), (" decode", MUTED)),
        Content.styled(f"{g.requests:,} requests × {g.batch}", MUTED),
    ]
    return pack(items, max(width, 12))


class TokenRateTimeline(GridWidget):
    """Decode tokens/s per 0.5 s block on the time axis of the latency timeline (the latest blocks when the
    run is longer than the widget), bars from zero; the bottom row marks spikes/steps, throttling and marks."""

    DEFAULT_CSS = """
    TokenRateTimeline { height: 1fr; min-height: 4; width: 1fr; }
    """
    MIN_SIZE = (10, 3)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: tuple | None = None
        self._key: tuple = ()

    def show(self, t_s: float, g: GenSnap, snap: Snapshot, spikes: tuple[float, ...]) -> None:
        """Set the blocks and markers; redraws only when a drawn cell changes."""
        key = (int(t_s / BLOCK_S), id(g.tps), spikes, snap.throttle_spans, snap.marks)
        if key == self._key:
            return
        self._key = key
        self._data = (t_s, g.tps_t, g.tps, spikes, snap.throttle_spans, snap.marks)
        self._changed()

    def _cells(self, width: int, height: int) -> Content | Grid:
        """Characters, style indices and palette of the plot (a Content line when there is nothing yet)."""
        if self._data is None or not np.isfinite(self._data[2]).any():
            return Content.styled("tokens/s: waiting for generated tokens", MUTED)
        t_s, tl_t, tps, spikes, throttle, marks = self._data
        first = max(0, math.ceil(t_s / BLOCK_S) - width)
        col = np.round(tl_t / BLOCK_S).astype(np.int64) - first
        keep = (col >= 0) & (col < width) & np.isfinite(tps)
        col, val = col[keep], tps[keep]
        rows = height - 2
        top = float(val.max()) if val.size else 1.0
        level = np.zeros(width, dtype=int)
        level[col] = np.maximum(np.ceil(val / (top or 1.0) * rows * 8).astype(int), 1)
        fill = np.clip(level[None, :] - np.arange(rows - 1, -1, -1)[:, None] * 8, 0, 8)
        head = f"0–{fmt_rate(top)}  ▇ decode tokens/s per {BLOCK_S:g} s"
        markers = LatencyTimeline._marker_row(width, first, t_s, spikes, throttle, marks)
        palette = [RATE_STYLE, MUTED, *dict.fromkeys(st for _c, st in markers)]
        styles = np.zeros((rows + 2, width), dtype=np.int64)
        styles[0, :] = 1
        styles[-1, :] = [palette.index(st) for _c, st in markers]
        chars = np.vstack(
            [
                np.array(list(head[:width].ljust(width)))[None, :],
                np.array(list(BARS))[fill],
                np.array([c for c, _st in markers])[None, :],
            ]
        )
        return chars, styles, palette


class GenerationPlots(Vertical):
    """TTFT and ITL histograms side by side, the tokens/s timeline under them (see the module docstring)."""

    DEFAULT_CSS = """
    GenerationPlots { height: 1fr; width: 1fr; }
    GenerationPlots > Horizontal { height: 1fr; }
    GenerationPlots > Horizontal > Vertical { width: 1fr; }
    GenerationPlots .gen-title { height: 1; color: $foreground-muted; }
    GenerationPlots #gen-itl-box { margin-left: 2; }
    """

    def compose(self) -> ComposeResult:
        """Two titled histograms, then the timeline."""
        with Horizontal():
            with Vertical():
                yield Static(metric("ttft_median_ms").help.replace("median ", ""), classes="gen-title")
                yield LatencyHistogram(id="gen-ttft")
            with Vertical(id="gen-itl-box"):
                yield Static("inter-token latency (per token)", classes="gen-title")
                yield LatencyHistogram(id="gen-itl")
        yield TokenRateTimeline()

    _pending: tuple[BackendSnap, Snapshot] | None = None
    _ready = False

    def on_mount(self) -> None:
        """Keep the children (queried once) and draw what came before they were mounted."""
        self._ttft = self.query_one("#gen-ttft", LatencyHistogram)
        self._itl = self.query_one("#gen-itl", LatencyHistogram)
        self._rate = self.query_one(TokenRateTimeline)
        self._ready = True
        if self._pending is not None:
            self.show(*self._pending)

    def show(self, b: BackendSnap, snap: Snapshot) -> None:
        """Draw `b.generation` (a no-op without one; kept for `on_mount` before the children exist)."""
        g = b.generation
        if g is None:
            return
        if not self._ready:
            self._pending = (b, snap)
            return
        self._pending = None
        self._ttft.show(g.ttft_hist, *g.ttft_q)
        self._itl.show(g.itl_hist, *g.itl_q)
        self._rate.show(snap.t_s, g, snap, b.spikes)


def show_generation(
    plots: Widget,
    current: GenerationPlots | None,
    replaced: tuple[Widget, ...],
    b: BackendSnap,
    snap: Snapshot,
) -> GenerationPlots:
    """Draw a generating variant's plots in a panel's `plots` container: mounted at its first tokens in place
    of the `replaced` call-latency plots (hidden), so a panel of any other variant is what it always was."""
    if current is None:
        current = GenerationPlots()
        plots.mount(current)
        for widget in replaced:
            widget.display = False
    current.show(b, snap)
    return current
