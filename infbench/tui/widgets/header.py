"""`RunHeader`: model, session file, elapsed (live) or position/speed (replay), run state."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from infbench.tui.fmt import MUTED, fmt_clock, kind_style
from infbench.vocab import EventKind


def shorten_left(text: str, width: int) -> str:
    """`text` cut from the left to `width` cells (``…/sessions/run.infb``): a path keeps its file name."""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - max(width - 1, 0) :] if width > 0 else ""


class RunHeader(Static):
    """Two lines at the top. First: mode, model, clock and state. Second: the extras (schedule and workload,
    or when the session was recorded) and the session file, whose path is shortened from the left to fit, so
    the file name always shows."""

    DEFAULT_CSS = """
    RunHeader { height: 2; background: $boost; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown = Content("")
        self._args: dict[str, Any] | None = None

    def show(
        self,
        *,
        mode: str,
        model: str,
        session: str,
        clock_s: float,
        state: str,
        state_style: str = "bold",
        extra: str = "",
        end_s: float | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        """Render: `mode` LIVE/REPLAY, model, session path, clock (elapsed or position), state and extras.

        `state_style` is a Textual style string (theme variables such as ``bold $text-success``). `notes`
        (warnings about the whole run) show as a short badge after the state, each its words before the first
        colon (``⚠ every core in use``); the event list has them whole."""
        self._args = {
            "mode": mode,
            "model": model,
            "session": session,
            "clock_s": clock_s,
            "state": state,
            "state_style": state_style,
            "extra": extra,
            "end_s": end_s,
            "notes": notes,
        }
        self._render_header()

    def on_resize(self) -> None:
        """Fit the session path to the new width."""
        self._render_header()

    def _render_header(self) -> None:
        a = self._args
        if a is None:
            return
        parts: list[str | tuple[str, str]] = [
            (
                f" {a['mode']} ",
                "bold $text-success reverse" if a["mode"] == "LIVE" else "bold $text-primary reverse",
            ),
            (f"  {a['model']}", "bold"),
            (f"   {fmt_clock(a['clock_s'])}", "bold"),
        ]
        if a["end_s"] is not None:
            parts.append((f" / {fmt_clock(a['end_s'])}", MUTED))
        parts += ["   ", (a["state"], a["state_style"])]
        glyph, style = kind_style(EventKind.LOG)
        for note in a["notes"]:
            parts += ["   ", (f"{glyph} {note.split(':', 1)[0]}", f"bold {style}".strip())]
        second: list[str | tuple[str, str]] = []
        used = 0
        if a["extra"]:
            second.append((a["extra"], MUTED))
            used = len(a["extra"]) + 3
            second.append("   ")
        width = self.content_size.width or 200
        path = a["session"] or "—"
        second += [("session ", MUTED), shorten_left(path, width - used - len("session "))]
        content = Content.assemble(*parts, "\n", *second)
        if not content.is_same(self._shown):
            self._shown = content
            self.update(content, layout=False)
