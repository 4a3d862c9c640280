"""`RunHeader`: model, session file, elapsed (live) or position/speed (replay), run state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from infbench.tui.fmt import fmt_clock


class RunHeader(Static):
    """One or two lines at the top: what is running, where it is recorded, and for how long."""

    DEFAULT_CSS = """
    RunHeader { height: 2; background: $boost; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._plain = ""

    def show(self, *, mode: str, model: str, session: str, clock_s: float, state: str,
             state_style: str = "bold", extra: str = "", end_s: float | None = None) -> None:
        """Render: `mode` LIVE/REPLAY, model, session path, clock (elapsed or position), state and extras."""
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {mode} ", style="bold reverse green" if mode == "LIVE" else "bold reverse blue")
        t.append(f"  {model}", style="bold")
        t.append(f"   {fmt_clock(clock_s)}", style="bold")
        if end_s is not None:
            t.append(f" / {fmt_clock(end_s)}", style="dim")
        t.append("   ")
        t.append(state, style=state_style)
        if extra:
            t.append(f"   {extra}", style="dim")
        t.append("\n")
        t.append("session ", style="dim").append(session or "—")
        if t.plain != self._plain:
            self._plain = t.plain
            self.update(t, layout=False)
