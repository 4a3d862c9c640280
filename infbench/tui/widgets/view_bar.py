"""`ViewBar`: the one-line tab bar of the compact layout (backends / machine / events)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from infbench.tui.fmt import MUTED

VIEWS = (("backends", "1"), ("machine", "2"), ("events", "3"))


class ViewBar(Widget):
    """``[1 backends]  2 machine   3 events``: the active view in brackets (and highlighted), each with the
    key that shows it; a click on a name posts `ViewBar.Chosen`."""

    DEFAULT_CSS = """
    ViewBar { height: 1; padding: 0 1; background: $boost; }
    """

    @dataclass
    class Chosen(Message):
        """A view name was clicked."""

        view: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.active = VIEWS[0][0]
        self._spans: list[tuple[int, int, str]] = []  # (x0, x1, view) of each item, for clicks

    def set_active(self, view: str) -> None:
        """Mark `view` as the one shown."""
        if view != self.active:
            self.active = view
            self.refresh()

    def render(self) -> Content:
        """The items, the active one bracketed."""
        parts: list[str | tuple[str, str]] = []
        x = 0
        self._spans = []
        for view, key in VIEWS:
            text = f"[{key} {view}]" if view == self.active else f" {key} {view} "
            parts.append((text, "bold reverse $text-primary" if view == self.active else MUTED))
            self._spans.append((x, x + len(text), view))
            parts.append("  ")
            x += len(text) + 2
        parts.append(("tab/click: select · ↑↓: backend", MUTED))
        return Content.assemble(*parts)

    def on_click(self, event: events.Click) -> None:
        """Choose the clicked view."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for x0, x1, view in self._spans:
            if x0 <= offset.x < x1:
                self.post_message(self.Chosen(view))
                return
