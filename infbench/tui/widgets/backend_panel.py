"""`BackendPanel`: one backend's status, running statistics, histogram and timeline."""

from __future__ import annotations

import math

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from infbench.snapshot import BackendSnap, Snapshot
from infbench.tui.fmt import fmt_ms, fmt_rate
from infbench.tui.widgets.histogram import LatencyHistogram
from infbench.tui.widgets.timeline import LatencyTimeline

STATUS_STYLE = {"running": "bold green", "warmup": "bold cyan", "waiting": "yellow", "loading": "cyan",
                "loaded": "cyan", "done": "bold", "failed": "bold red", "stopped": "magenta", "pending": "dim"}


def stats_text(b: BackendSnap) -> Text:
    """The status line and the statistics lines of one backend."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"{b.label}", style="bold")
    if b.backend != b.label:
        t.append(f" ({b.backend})", style="dim")
    t.append("  ")
    t.append(b.status_text, style=STATUS_STYLE.get(b.status, ""))
    if b.degraded:
        t.append("  degraded", style="bold yellow")
    t.append("\n")
    t.append("p50 ", style="green").append(fmt_ms(b.p50_ms), style="bold")
    t.append("  p95 ", style="yellow").append(fmt_ms(b.p95_ms))
    t.append("  p99 ", style="red").append(fmt_ms(b.p99_ms))
    t.append("\n")
    cv = "—" if math.isnan(b.cv) else f"{b.cv * 100:.1f}%"
    t.append(f"{fmt_rate(b.throughput)}  CV {cv}  n={b.count:,}")
    if b.warmup_count:
        t.append(f" (+{b.warmup_count:,} warm-up)", style="dim")
    t.append("\n")
    if b.backend == "null":
        t.append("control: the harness floor", style="dim")
    elif b.rel_to_fastest is None:
        t.append("vs fastest: —", style="dim")
    elif b.rel_to_fastest <= 1.0 + 1e-12:
        t.append("fastest", style="bold green")
    else:
        t.append(f"×{b.rel_to_fastest:.2f} vs fastest", style="yellow" if b.rel_to_fastest < 1.5 else "red")
    if b.load_ms is not None:
        t.append(f"  load {b.load_ms:.0f} ms", style="dim")
    if b.first_inference_ms is not None:
        t.append(f" · first {fmt_ms(b.first_inference_ms)}", style="dim")
    if b.final:
        t.append("  [final]", style="bold cyan")
    return t


class BackendPanel(Vertical, can_focus=True):
    """A focusable panel for one backend (click or Tab to select it, then `x` stops it in a live run)."""

    DEFAULT_CSS = """
    BackendPanel { width: 1fr; height: 1fr; border: round $panel-lighten-2; padding: 0 1; }
    BackendPanel:focus { border: round $accent; }
    BackendPanel.-failed { border: round $error; }
    BackendPanel > .stats { height: 4; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.border_title = label
        self._text_key: str = ""

    def compose(self) -> ComposeResult:
        """Stats, histogram, timeline."""
        yield Static(Text(f"{self.label}  pending", style="dim"), classes="stats")
        yield LatencyHistogram()
        yield LatencyTimeline()

    def on_click(self, event: events.Click) -> None:
        """Select this panel."""
        self.focus()

    def on_mount(self) -> None:
        """Keep the children (queried once, not on every tick)."""
        self._stats = self.query_one(".stats", Static)
        self._hist = self.query_one(LatencyHistogram)
        self._timeline = self.query_one(LatencyTimeline)

    def show(self, b: BackendSnap, snap: Snapshot, *, plots: bool = True) -> None:
        """Render backend `b` of snapshot `snap`; `plots` False: the statistics only, the histogram and
        timeline wait for the next `show` or `flush_plots` (the screen spreads plot redraws over ticks)."""
        text = stats_text(b)
        if text.plain != self._text_key:
            self._text_key = text.plain
            self._stats.update(text, layout=False)
        failed = b.status == "failed"
        if failed != self.has_class("-failed"):
            self.set_class(failed, "-failed")
        self._pending = (b, snap)
        if plots:
            self.flush_plots()

    _pending: tuple[BackendSnap, Snapshot] | None = None

    def flush_plots(self) -> None:
        """Draw the histogram and timeline of the latest `show` (a no-op when already drawn)."""
        if self._pending is None:
            return
        b, snap = self._pending
        self._pending = None
        self._hist.show(b.hist, b.p50_ms, b.p95_ms, b.p99_ms)
        self._timeline.show(snap.t_s, b.tl_t, b.tl_med, b.tl_max, b.spikes, snap.throttle_spans, snap.marks)
