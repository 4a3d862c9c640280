"""`BackendPanel`: one backend's status, running statistics, histogram and timeline."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.content import Content
from textual.markup import escape
from textual.widgets import Static

from infbench.metrics import fmt_pct, fmt_rate, metric
from infbench.tui.fmt import BAD, GOOD, INFO, MUTED, NOTE, WARN, pack, status_style, wrap
from infbench.tui.snapshot import BackendSnap, Snapshot
from infbench.tui.widgets.corpus_bar import CorpusProgress, corpus_lines, corpus_progress
from infbench.tui.widgets.generation import GenerationPlots, generation_lines, show_generation
from infbench.tui.widgets.histogram import LatencyHistogram
from infbench.tui.widgets.stage_line import StageTracker
from infbench.tui.widgets.timeline import LatencyTimeline
from infbench.vocab import Status

QUANTILES = (("median_ms", GOOD), ("p95_ms", WARN), ("p99_ms", BAD))
"""The quantiles a panel shows, by metric key, in the colour of their histogram marker."""
REASON_LINES = 2
"""Lines of a crash or degradation reason an unselected panel shows; a selected panel shows it whole."""


def _reason(text: Content, width: int, full: bool) -> list[Content]:
    """`text` wrapped to `width`; cut to `REASON_LINES` (ending in …) unless `full`."""
    lines = wrap(text, width)
    if full or len(lines) <= REASON_LINES:
        return lines
    last = lines[REASON_LINES - 1]
    return [*lines[: REASON_LINES - 1], last[: max(width - 1, 1)] + "…"]


def stats_lines(b: BackendSnap, width: int, *, full: bool = True) -> list[Content]:
    """The status and statistics of one backend, laid out for `width` cells.

    Four groups, each starting a line and wrapping item by item (an item is never cut): name and status;
    median/p95/p99; throughput, CV and counts; the comparison with the fastest, load and first-call times. A
    crash or degradation reason is word-wrapped: whole when `full` (the panel is selected), else its first
    `REASON_LINES` lines.
    """
    width = max(width, 12)
    name = Content.styled(b.label, "bold")
    if b.backend != b.label:
        name = name + Content.styled(f" ({b.backend})", MUTED)
    if b.numerics:
        name = name + Content.styled(f" · {b.numerics}", MUTED)
    status = Content.styled(b.status_text, status_style(b.status))
    lines: list[Content] = []
    if b.status == Status.FAILED:
        lines += pack([name], width) + _reason(status, width, full)
    else:
        lines += pack([name, status], width)
    if b.degraded:
        reasons = Content.assemble(("degraded: ", f"bold {WARN}"), "; ".join(b.degraded))
        lines += _reason(reasons, width, full)
    values = {"median_ms": b.p50_ms, "p95_ms": b.p95_ms, "p99_ms": b.p99_ms}
    pcts = [
        Content.assemble(
            (f"{metric(key).label} ", style),
            (metric(key).format(values[key]), "bold" if key == "median_ms" else ""),
        )
        for key, style in QUANTILES
    ]
    lines += pack(pcts, width)
    counts = [
        Content(fmt_rate(b.throughput)),
        Content(f"{metric('cv').label} {fmt_pct(b.cv)}"),
        Content(f"n={b.count:,}"),
    ]
    if b.warmup_count:
        counts.append(Content.styled(f"(+{b.warmup_count:,} warm-up)", MUTED))
    lines += pack(counts, width)
    rel = _comparison(b)
    if b.load_ms is not None:
        rel.append(Content.styled(f"{metric('load_ms').label} {metric('load_ms').format(b.load_ms)}", MUTED))
    if b.first_inference_ms is not None:
        m = metric("first_inference_ms")
        rel.append(Content.styled(f"{m.label} {m.format(b.first_inference_ms)}", MUTED))
    if b.final:
        rel.append(Content.styled("[final]", f"bold {INFO}"))
    return lines + pack(rel, width)


def _comparison(b: BackendSnap) -> list[Content]:
    """How `b` compares, by the report's rule: a control is the harness floor (no ratio); an A/A twin is the
    twin of its original (its ratio to it, never "fastest"); any other backend its p50 against the fastest."""
    if b.is_control:
        return [Content.styled("control: the harness floor", MUTED)]
    if b.is_twin:
        twin = f"A/A twin of {b.twin_of}" if b.twin_of else "A/A twin"
        ratio = f": ×{b.rel_to_original:.2f} of it" if b.rel_to_original is not None else ""
        return [Content.styled(twin + ratio, NOTE)]
    if b.rel_to_fastest is None:
        return [Content.styled("vs fastest: —", MUTED)]
    if b.rel_to_fastest <= 1.0 + 1e-12:
        return [Content.styled("fastest", f"bold {GOOD}")]
    style = WARN if b.rel_to_fastest < 1.5 else BAD
    return [Content.styled(f"×{b.rel_to_fastest:.2f} vs fastest", style)]


class BackendPanel(Vertical, can_focus=True):
    """A focusable panel for one backend (click or Tab to select it, then `x` stops it in a live run).

    The statistics re-flow to the panel's width, so a narrow panel (four side by side at 160 columns) shows
    every number on more lines instead of cutting them. Selected (focused, or the one panel shown in the
    compact layout: class ``-expanded``), it shows a crash reason whole and gets a heavy border, which tells
    it apart without colour.
    """

    DEFAULT_CSS = """
    BackendPanel { width: 1fr; height: 1fr; border: round $foreground-muted; padding: 0 1;
                   border-title-color: $foreground; }
    BackendPanel:focus { border: heavy $border; border-title-style: bold; }
    BackendPanel.-failed { border: round $error; border-title-color: $text-error; }
    BackendPanel.-failed:focus { border: heavy $error; }
    BackendPanel > .stats { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    BackendPanel > .plots { height: 1fr; }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.border_title = escape(label)  # a variant label like `ort[threads=1]` is not markup
        self._shown = Content("")
        self._lines = 0
        self._backend: BackendSnap | None = None
        self._stages = StageTracker()  # "where the time goes" of engines with call parts (a pipeline)

    def compose(self) -> ComposeResult:
        """Stats, then histogram and timeline (one above the other, or side by side in the compact layout)."""
        yield Static(
            Content.assemble((self.label, "bold"), "  ", ("waiting to load", MUTED)), classes="stats"
        )
        with Container(classes="plots"):
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

    @property
    def selected(self) -> bool:
        """Whether the panel is the selected one (focused, or expanded in the compact layout)."""
        return self.has_focus or self.has_class("-expanded")

    def on_focus(self) -> None:
        """Selected: show reasons whole."""
        self._render_stats()

    def on_blur(self) -> None:
        """Unselected: reasons shortened again."""
        self._render_stats()

    def on_resize(self) -> None:
        """Re-flow the statistics to the new width."""
        self._render_stats()

    def refresh_stats(self) -> None:
        """Lay the statistics out again (the panel was selected or unselected)."""
        self._render_stats()

    def show(self, b: BackendSnap, snap: Snapshot, *, plots: bool = True) -> None:
        """Render backend `b` of snapshot `snap`; `plots` False: the statistics only, the histogram and
        timeline wait for the next `show` or `flush_plots` (the screen spreads plot redraws over ticks)."""
        self._backend = b
        self._corpus = corpus_progress(b, snap)
        self._stages.update(self.screen, b, snap)
        self._render_stats()
        failed = b.status == Status.FAILED
        if failed != self.has_class("-failed"):
            self.set_class(failed, "-failed")
            self.border_title = escape(f"{self.label} ✗ crashed" if failed else self.label)
        self._pending = (b, snap)
        if plots:
            self.flush_plots()

    def _render_stats(self) -> None:
        """Lay the statistics out for the current width (a no-op when nothing drawn would change)."""
        b = self._backend
        if b is None or not self.is_mounted:
            return
        width = self.content_size.width or 40
        lines = stats_lines(b, width, full=self.selected) + corpus_lines(self._corpus, width)
        lines += self._stages.lines(width) + generation_lines(b, width)
        content = Content("\n").join(lines)
        if not content.is_same(self._shown):
            self._shown = content
            self._stats.update(content, layout=len(lines) != self._lines)
            self._lines = len(lines)

    _pending: tuple[BackendSnap, Snapshot] | None = None
    _corpus: CorpusProgress | None = None  # whole-corpus passes (`--whole-corpus`), under the statistics
    _generation: GenerationPlots | None = None  # a generating variant's plots, mounted at its first tokens

    def flush_plots(self) -> None:
        """Draw the histogram and timeline of the latest `show` (a no-op when already drawn)."""
        if self._pending is None:
            return
        b, snap = self._pending
        self._pending = None
        if b.generation is not None:  # TTFT and ITL histograms and tokens/s instead of the call latency's
            plots, shown = self.query_one(".plots"), (self._hist, self._timeline)
            self._generation = show_generation(plots, self._generation, shown, b, snap)
            return
        self._hist.show(b.hist, b.p50_ms, b.p95_ms, b.p99_ms)
        self._timeline.show(snap.t_s, b.tl_t, b.tl_med, b.tl_max, b.spikes, snap.throttle_spans, snap.marks)
