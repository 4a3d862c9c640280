"""`HelpScreen`: the keys of the screen below it and what the panels show."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from infbench.tui.fmt import INFO, MUTED

ABOUT = (
    "Each backend panel: status (loading with its elapsed time / warm-up / running / waiting its turn / done "
    "/ crashed: reason), running median/p95/p99, throughput (calls per second of the backend's own busy "
    "time), CV, iterations and speed relative to the fastest median, as in `report`: a control (the null "
    "engine) is the harness floor and an A/A twin shows its ratio to its original, neither ever fastest. A "
    "selected panel (Tab or click) shows a crash reason whole. The histogram uses ~1 % wide log buckets; ▲ "
    "under it marks the median, p95 and p99 (legend on the label row). The timeline shows each 0.5 s block's "
    "median (bar) and max (dot); below it ▲ spikes, ━ throttling, ⚑ your marks. Live statistics are from the "
    "histogram (±1 %); when a run ends they are replaced by the exact numbers of `report` ([final]). On a "
    "small terminal (80×24) the layout is compact: 1 shows a table of every backend with the selected one's "
    "panel (↑/↓ select), 2 the machine, 3 the events. Engines run in their own processes: the UI only "
    "renders. Ctrl+P opens the command palette with every action; the mouse selects panels and views and "
    "drags the replay scrubber."
)


class HelpScreen(ModalScreen[None]):
    """Keys and a short explanation; Escape, ? or q closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 95%; height: auto; max-height: 90%;
                                  border: thick $border; background: $surface; padding: 1 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", "Close"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        """The key table and the explanation."""
        rows = [
            (self.app.get_key_display(b), b.tooltip or b.description)
            for b in self.under.BINDINGS
            if isinstance(b, Binding) and b.description
        ]
        rows += [("ctrl+p", "Command palette (every action)"), ("tab / click", "Select a backend panel")]
        width = max(len(k) for k, _ in rows) + 2
        keys = Content("\n").join(Content.assemble((k.ljust(width), f"bold {INFO}"), d) for k, d in rows)
        with VerticalScroll():
            yield Static(Content.styled("infbench — keys", "bold"))
            yield Static(keys)
            yield Static(Content.styled("\n" + ABOUT, MUTED))

    def action_dismiss_help(self) -> None:
        """Close."""
        self.dismiss(None)
