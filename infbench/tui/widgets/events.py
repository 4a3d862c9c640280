"""`EventsLog`: the run's events up to the snapshot's instant, newest at the bottom."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.widget import Widget

from infbench.records import RunEvent
from infbench.tui.fmt import KIND_STYLE, fmt_clock

HIDDEN = {"status_noise"}


class EventsLog(Widget):
    """Warm-up end, spikes and drift with their cause, throttle on/off, engine errors, pauses and user marks.

    Shows as many of the latest events as fit; scroll back with the mouse wheel or arrow keys when focused.
    """

    DEFAULT_CSS = """
    EventsLog { width: 1fr; height: 1fr; border: round $panel-lighten-2; padding: 0 1;
                text-wrap: nowrap; text-overflow: ellipsis; }
    EventsLog:focus { border: round $accent; }
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

    def render(self) -> Text:
        """The latest events that fit, one line each."""
        rows = max(self.size.height, 1)
        shown = [e for e in self._events if e.kind not in HIDDEN]
        end = len(shown) - self._back
        out = Text(no_wrap=True, overflow="ellipsis")
        if not shown:
            return Text("no events yet", style="dim")
        for i, e in enumerate(shown[max(0, end - rows):end]):
            icon, style = KIND_STYLE.get(e.kind, ("·", ""))
            if i:
                out.append("\n")
            out.append(f"{fmt_clock((e.t_ns - self._t0) / 1e9):>7} ", style="dim")
            out.append(f"{icon} ", style=style)
            msg = e.message if not e.backend or e.backend in e.message else f"{e.backend}: {e.message}"
            out.append(msg, style=style if e.kind in ("engine_error", "throttle_on", "mark") else "")
        return out
