"""`EventsLog`: the run's events up to the snapshot's instant, newest at the bottom."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.content import Content
from textual.widget import Widget

from infbench.records import RunEvent
from infbench.tui.fmt import MUTED, fmt_clock, kind_style, wrap
from infbench.vocab import EventKind

LOUD = (EventKind.ENGINE_ERROR, EventKind.THROTTLE_ON, EventKind.MARK, EventKind.LOG)
"""Kinds whose whole message takes the kind's style (the others style only their glyph)."""


class EventsLog(Widget):
    """Warm-up end, spikes and drift with their cause, throttle on/off, engine errors, pauses and user marks.

    Each event is word-wrapped under its time and icon, so a long message (an engine's crash reason) is read
    whole; as many of the latest events as fit are shown. Scroll back with the mouse wheel or the arrow keys
    when focused.
    """

    DEFAULT_CSS = """
    EventsLog { width: 1fr; height: 1fr; border: round $foreground-muted; padding: 0 1;
                border-title-color: $foreground; }
    EventsLog:focus { border: round $border; border-title-style: bold; }
    """
    can_focus = True
    BINDINGS: ClassVar[list[BindingType]] = [("up", "older", "Older"), ("down", "newer", "Newer")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "events"
        self._events: tuple[RunEvent, ...] = ()
        self._t0 = 0
        self._back = 0
        self._key: tuple = ()

    def show(self, events: tuple[RunEvent, ...], t0_ns: int) -> None:
        """Set the events (by time) and the run's t0."""
        key = (len(events), events[-1].t_ns if events else 0)
        if key == self._key:
            return
        self._key = key
        self._events, self._t0 = events, t0_ns
        self.refresh()

    def action_older(self) -> None:
        """Scroll back one event."""
        self._back = min(self._back + 1, max(len(self._events) - 1, 0))
        self.refresh()

    def action_newer(self) -> None:
        """Scroll forward one event."""
        self._back = max(self._back - 1, 0)
        self.refresh()

    def on_mouse_scroll_up(self) -> None:
        """Wheel up: older events."""
        self.action_older()

    def on_mouse_scroll_down(self) -> None:
        """Wheel down: newer events."""
        self.action_newer()

    def event_lines(self, e: RunEvent, width: int) -> list[Content]:
        """One event: time and icon, then its message word-wrapped under itself."""
        icon, style = kind_style(e.kind)
        head = Content.assemble((f"{fmt_clock((e.t_ns - self._t0) / 1e9):>7} ", MUTED), (f"{icon} ", style))
        msg = e.message if not e.backend or e.backend in e.message else f"{e.backend}: {e.message}"
        body = Content.styled(msg, style) if e.kind in LOUD else Content(msg)
        indent = head.cell_length
        lines = wrap(body, max(width - indent, 8))
        return [head + lines[0], *(Content(" " * indent) + line for line in lines[1:])]

    def render(self) -> Content:
        """The latest events that fit, whole; the newest alone is cut (with …) when it is taller than the log."""
        rows, width = max(self.size.height, 1), max(self.size.width, 20)
        shown = self._events
        if not shown:
            return Content.styled("no events yet", MUTED)
        end = len(shown) - self._back
        out: list[Content] = []
        for e in reversed(shown[:end]):
            lines = self.event_lines(e, width)
            if out and len(out) + len(lines) > rows:
                break
            out[:0] = lines
            if len(out) >= rows:
                break
        if len(out) > rows:
            out = out[:rows]
            out[-1] = out[-1][: max(width - 1, 1)] + "…"
        return Content("\n").join(out)
