"""`MarkModal`: asks for the note of a user mark."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class MarkModal(ModalScreen["str | None"]):
    """An Input for the mark's note: Enter drops the mark, Escape cancels."""

    DEFAULT_CSS = """
    MarkModal { align: center middle; }
    MarkModal > Vertical { width: 60; height: auto; border: thick $border; background: $surface; padding: 1 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        """Prompt and input."""
        with Vertical():
            yield Label("Mark this moment — note (Enter to drop, Esc to cancel):")
            yield Input(placeholder="e.g. opened a browser", id="note")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or "mark")

    def action_cancel(self) -> None:
        """Cancel without a mark."""
        self.dismiss(None)
