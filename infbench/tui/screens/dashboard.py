"""`DashboardScreen`: the screen live runs and replays share; subclasses only supply the snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from infbench.snapshot import Snapshot, SnapshotBuilder
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.events import EventsLog
from infbench.tui.widgets.header import RunHeader
from infbench.tui.widgets.monitor_panel import MonitorPanel

TICK_HZ = 20


class DashboardScreen(Screen):
    """Header, one panel per backend side by side, the machine monitor and the events log.

    A `set_interval` tick pulls a `Snapshot` from `snapshot()` and renders it inside `batch_update()`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("s", "screenshot", "Screenshot"),
        Binding("q", "quit_run", "Quit"),
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
        self._widgets: tuple[dict[str, BackendPanel], MonitorPanel, EventsLog] | None = None

    def compose(self) -> ComposeResult:
        """The shared layout; `extra_rows` lets a subclass add rows (the replay scrubber)."""
        yield RunHeader(id="header")
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
        """Start the refresh tick."""
        self.set_interval(1 / TICK_HZ, self.tick)
        self.tick()

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
        if snap is not None and snap.at_end and builder is not None and not builder.final_ready \
                and not self._final_pending:
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
            self._widgets = ({p.label: p for p in self.query(BackendPanel)}, self.query_one(MonitorPanel),
                             self.query_one(EventsLog))
        panels, monitor, events = self._widgets
        for i, b in enumerate(snap.backends):
            panel = panels.get(b.label)
            if panel is not None:
                panel.show(b, snap, plots=(self.ticks + i) % self.PLOT_EVERY == 0)
        monitor.show(snap)
        events.show(snap.events, snap.t0_ns)

    def selected_label(self) -> str | None:
        """The label of the focused backend panel, if any."""
        focused = self.focused
        return focused.label if isinstance(focused, BackendPanel) else None

    def action_help(self) -> None:
        """Show the help screen."""
        from infbench.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_screenshot(self) -> None:
        """Save an SVG screenshot of the screen."""
        directory = Path(getattr(self.app, "screenshot_dir", ".") or ".")
        stem = Path(self.session).stem if self.session else "infbench"
        t = self.last_snapshot.t_s if self.last_snapshot else 0.0
        path = self.app.save_screenshot(filename=f"{stem}-t{t:07.1f}s.svg", path=str(directory))
        self.notify(f"screenshot saved: {path}")

    def action_quit_run(self) -> None:
        """Quit (subclasses finish their source first)."""
        self.app.exit(0)
