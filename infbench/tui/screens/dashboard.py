"""`DashboardScreen`: the screen live runs and replays share; subclasses only supply the snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from infbench.tui.snapshot import Snapshot, SnapshotBuilder
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.backend_table import BackendTable
from infbench.tui.widgets.events import EventsLog
from infbench.tui.widgets.header import RunHeader
from infbench.tui.widgets.monitor_panel import MonitorPanel
from infbench.tui.widgets.view_bar import VIEWS, ViewBar

TICK_HZ = 20
PANEL_MIN_W = 36
"""Narrowest backend panel of the side-by-side layout (its statistics re-flow down to this width)."""
WIDE_MIN_H = 32
"""Fewest terminal rows for the side-by-side layout: panels, machine monitor and events all readable."""


def wants_compact(width: int, height: int, panels: int) -> bool:
    """Whether a `width` × `height` terminal gets the compact layout: a table of every backend's numbers, the
    selected backend's panel, and the machine monitor and events each on a view of their own."""
    return height < WIDE_MIN_H or width < max(panels, 1) * PANEL_MIN_W


class DashboardScreen(Screen):
    """Header, the backends, the machine monitor and the events log, in one of two layouts.

    Side by side (wide terminals): one panel per backend in a row, monitor and events under them. Compact
    (80×24, or too many backends for the width): a view bar; the *backends* view has a table with every
    backend's numbers and the selected backend's panel (its reason whole); *machine* and *events* take the
    whole body. Keys 1/2/3 (or a click on the bar) switch views, ↑/↓ on the table select a backend.

    A `set_interval` tick pulls a `Snapshot` from `snapshot()` and renders it inside `batch_update()`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Keys and what the panels show"),
        Binding("s", "screenshot", "Screenshot", tooltip="Save an SVG screenshot of the screen"),
        Binding("q", "quit_run", "Quit", tooltip="Quit (a live run finishes its session file first)"),
        *[
            Binding(
                key, f"view('{view}')", view.capitalize(), tooltip=f"Compact layout: show the {view} view"
            )
            for view, key in VIEWS
        ],
    ]

    PLOT_EVERY = 1
    """Each panel redraws its histogram and timeline every this many ticks (panels take turns); the
    statistics lines update on every tick."""

    def __init__(self, labels: list[str], session: str) -> None:
        super().__init__()
        self.labels = list(labels)
        self.session = session
        self.last_snapshot: Snapshot | None = None
        self.ticks = 0
        self._final_pending = False
        self._widgets: tuple[dict[str, BackendPanel], MonitorPanel, EventsLog, BackendTable] | None = None
        self.compact = False
        self.view = VIEWS[0][0]
        self.selected: str | None = self.labels[0] if self.labels else None

    def compose(self) -> ComposeResult:
        """The shared layout; `extra_rows` lets a subclass add rows (the replay scrubber)."""
        self.compact = wants_compact(self.app.size.width, self.app.size.height, len(self.labels))
        self.set_class(self.compact, "-compact")  # before the first layout, which then fits the terminal
        self.set_class(True, f"-view-{self.view}")
        yield RunHeader(id="header")
        yield ViewBar(id="views")
        yield BackendTable(self.labels, id="table")
        with Horizontal(id="panels"):
            for i, label in enumerate(self.labels):
                yield BackendPanel(label, id=f"panel-{i}")
        yield from self.extra_rows()
        with Horizontal(id="bottom"):
            yield MonitorPanel(id="monitor")
            yield EventsLog(id="events")
        yield Footer()

    def extra_rows(self) -> ComposeResult:
        """Rows between the panels and the bottom row (none here)."""
        yield from ()

    def on_mount(self) -> None:
        """Settle the selection and focus of the layout chosen in `compose`, and start the refresh tick."""
        self.set_layout(self.compact, force=True)
        self.set_interval(1 / TICK_HZ, self.tick)
        self.tick()

    def on_resize(self, event: events.Resize) -> None:
        """Switch layouts when the terminal crosses the size the side-by-side layout needs."""
        self.set_layout(wants_compact(event.size.width, event.size.height, len(self.labels)))

    def set_layout(self, compact: bool, *, force: bool = False) -> None:
        """Switch to the compact or the side-by-side layout, keeping the selected backend."""
        if compact == self.compact and not force:
            return
        focused = self.focused
        if isinstance(focused, BackendPanel):
            self.selected = focused.label
        self.compact = compact
        self.set_class(compact, "-compact")
        self._mark_selected()
        table = self.query_one(BackendTable)
        if compact:
            if self.selected is not None:
                table.select(self.selected)
            if focused is None or isinstance(focused, BackendPanel):
                table.focus()
            if self.last_snapshot is not None:
                table.show(self.last_snapshot.backends)
        elif focused is table:
            panel = self._panel(self.selected)
            if panel is not None:
                panel.focus()
        self.refresh_bindings()

    def _panel(self, label: str | None) -> BackendPanel | None:
        return next((p for p in self.query(BackendPanel) if p.label == label), None)

    def _mark_selected(self) -> None:
        """In the compact layout, the selected backend's panel is the one shown (class ``-expanded``)."""
        for panel in self.query(BackendPanel):
            expanded = self.compact and panel.label == self.selected
            if expanded != panel.has_class("-expanded"):
                panel.set_class(expanded, "-expanded")
                panel.refresh_stats()

    @on(BackendTable.Selected)
    def _table_selected(self, message: BackendTable.Selected) -> None:
        self.selected = message.label
        self._mark_selected()

    @on(ViewBar.Chosen)
    def _view_chosen(self, message: ViewBar.Chosen) -> None:
        self.action_view(message.view)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A focused panel is the selected backend."""
        if isinstance(event.widget, BackendPanel):
            self.selected = event.widget.label

    def action_view(self, view: str) -> None:
        """Compact layout: show the backends, machine or events view."""
        if view not in dict(VIEWS) or not self.compact:
            return
        self.set_class(False, f"-view-{self.view}")
        self.view = view
        self.set_class(True, f"-view-{view}")
        self.query_one(ViewBar).set_active(view)
        targets: dict[str, type[Widget]] = {"backends": BackendTable, "events": EventsLog}
        target = targets.get(view)
        if target is not None:
            self.query_one(target).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The view keys exist only in the compact layout."""
        if action == "view":
            return self.compact
        return True

    def snapshot(self) -> Snapshot | None:
        """The snapshot to show now (None: nothing to show yet)."""
        raise NotImplementedError

    def show_header(self, snap: Snapshot | None) -> None:
        """Render the header for `snap`."""
        raise NotImplementedError

    def tick(self) -> None:
        """Pull a snapshot and render it."""
        snap = self.snapshot()
        self.ticks += 1
        builder = getattr(self, "builder", None)
        if (
            snap is not None
            and snap.at_end
            and builder is not None
            and not builder.final_ready
            and not self._final_pending
        ):
            self._final_pending = True
            self._final_worker(builder)
        with self.app.batch_update():
            self.show_header(snap)
            if snap is not None and snap is not self.last_snapshot:
                self.render_snapshot(snap)
            elif self._widgets is not None and self.PLOT_EVERY > 1:
                for i, panel in enumerate(self._widgets[0].values()):
                    if (self.ticks + i) % self.PLOT_EVERY == 0:
                        panel.flush_plots()

    @work(thread=True, exit_on_error=False, group="final")
    def _final_worker(self, builder: SnapshotBuilder) -> None:
        """Compute the exact final statistics off the UI thread (sorting every sample takes a while)."""
        builder.prepare_final()

    def render_snapshot(self, snap: Snapshot) -> None:
        """Update every widget from `snap`."""
        self.last_snapshot = snap
        if self._widgets is None:  # looked up once: DOM queries every tick add up
            self._widgets = (
                {p.label: p for p in self.query(BackendPanel)},
                self.query_one(MonitorPanel),
                self.query_one(EventsLog),
                self.query_one(BackendTable),
            )
        panels, monitor, log, table = self._widgets
        for i, b in enumerate(snap.backends):
            panel = panels.get(b.label)
            if panel is not None:
                panel.show(b, snap, plots=(self.ticks + i) % self.PLOT_EVERY == 0)
        if self.compact:
            table.show(snap.backends)
        monitor.show(snap)
        log.show(snap.events, snap.t0_ns)

    def selected_label(self) -> str | None:
        """The selected backend: the focused panel, or the table's row in the compact layout."""
        focused = self.focused
        if isinstance(focused, BackendPanel):
            return focused.label
        return self.selected if self.compact else None

    def action_help(self) -> None:
        """Show the help screen."""
        from infbench.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_screenshot(self) -> None:
        """Save an SVG screenshot of the screen, named after the session and the instant; a second one at the
        same instant gets ``-2``, ``-3``… (a screenshot is never overwritten)."""
        directory = Path(getattr(self.app, "screenshot_dir", ".") or ".")
        stem = Path(self.session).stem if self.session else "infbench"
        t = self.last_snapshot.t_s if self.last_snapshot else 0.0
        name = screenshot_name(directory, f"{stem}-t{t:07.1f}s")
        try:
            path = self.app.save_screenshot(filename=name, path=str(directory))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error")
            return
        self.notify(f"screenshot saved: {path}")

    def action_quit_run(self) -> None:
        """Quit (subclasses finish their source first)."""
        self.app.exit(0)


def screenshot_name(directory: Path, stem: str) -> str:
    """``stem.svg``, or ``stem-2.svg``, ``stem-3.svg``… : the first name not taken in `directory`."""
    name, k = f"{stem}.svg", 1
    while (directory / name).exists():
        k += 1
        name = f"{stem}-{k}.svg"
    return name
