"""`HelpScreen`: the keys of the screen below it and what the panels show."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

ABOUT = (
    "Each backend panel: status (loading / warm-up / running / waiting its turn / done / crashed: reason), "
    "running p50/p95/p99, throughput (calls per second of the backend's own busy time), CV, iterations and "
    "speed relative to the fastest p50. The histogram uses ~1 % wide log buckets; ▲ marks p50 (green), p95 "
    "(yellow) and p99 (red). The timeline shows each 0.5 s block's median (bar) and max (dot); below it ▲ spikes, "
    "━ throttling, ⚑ your marks. Live statistics are from the histogram (±1 %); when a run ends they are "
    "replaced by the exact numbers of `report` ([final]). Engines run in their own processes: the UI only "
    "renders. Ctrl+P opens the command palette with every action; the mouse selects panels and drags the "
    "replay scrubber."
)


class HelpScreen(ModalScreen[None]):
    """Keys and a short explanation; Escape, ? or q closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 95%; height: auto; max-height: 90%;
                                  border: thick $accent; background: $surface; padding: 1 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", "Close"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        """The key table and the explanation."""
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold cyan")
        table.add_column()
        for b in self.under.BINDINGS:
            if isinstance(b, Binding):
                table.add_row(b.key_display or b.key.split(",")[0], b.description)
        table.add_row("ctrl+p", "command palette (every action)")
        table.add_row("tab / click", "select a backend panel")
        with VerticalScroll():
            yield Static(Text("infbench — keys", style="bold"))
            yield Static(table)
            yield Static(Text("\n" + ABOUT, style="dim"))

    def action_dismiss_help(self) -> None:
        """Close."""
        self.dismiss(None)
