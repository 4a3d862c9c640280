"""`Scrubber`: a clickable, draggable replay position bar with event ticks."""

from __future__ import annotations

import numpy as np
from textual import events
from textual.content import Content
from textual.widget import Widget

from infbench.tui.fmt import MUTED, grid_content, kind_style
from infbench.tui.messages import SeekTo
from infbench.vocab import EventKind

TICKS = {
    kind.value: kind_style(kind)
    for kind in (EventKind.SPIKE, EventKind.MARK, EventKind.ENGINE_ERROR, EventKind.THROTTLE_ON)
}
"""The event kinds marked on the bar, with their glyph and style from `vocab.EventKind`."""


class Scrubber(Widget):
    """The whole session as one bar: click or drag to seek; ticks mark events (▲ spike, ⚑ mark, ✗ error)."""

    DEFAULT_CSS = """
    Scrubber { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._pos = 0.0
        self._end = 1.0
        self._ticks: tuple[tuple[float, str], ...] = ()
        self._drag = False

    def show(self, pos_s: float, end_s: float, ticks: tuple[tuple[float, str], ...]) -> None:
        """Set the position, the end and the event ticks (t, kind)."""
        key = (round(pos_s, 2), end_s, len(ticks))
        if key != (round(self._pos, 2), self._end, len(self._ticks)):
            self._pos, self._end, self._ticks = pos_s, max(end_s, 1e-9), ticks
            self.refresh()

    def render(self) -> Content:
        """The bar: played part in the accent colour, the rest muted, event ticks, the position as ●."""
        w = max(self.size.width, 2)
        cur = min(int(self._pos / self._end * (w - 1)), w - 1)
        cells = [("━", "bold $accent" if c <= cur else MUTED) for c in range(w)]
        for t, kind in self._ticks:
            c = min(int(t / self._end * (w - 1)), w - 1)
            if kind in TICKS:
                cells[c] = TICKS[kind]
        cells[cur] = ("●", "bold $foreground")
        palette = sorted({st for _, st in cells})
        styles = np.array([[palette.index(st) for _, st in cells]])
        return grid_content(np.array([[ch for ch, _ in cells]]), styles, palette)

    def _seek_at(self, x: int) -> None:
        w = max(self.size.width, 2)
        self.post_message(SeekTo(max(0.0, min(x / (w - 1), 1.0)) * self._end))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Start dragging and seek."""
        self._drag = True
        self.capture_mouse()
        self._seek_at(event.x)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Seek while dragging."""
        if self._drag:
            self._seek_at(event.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Stop dragging."""
        self._drag = False
        self.release_mouse()
