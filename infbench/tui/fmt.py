"""The TUI's style vocabulary (`vocab.Tone` → Textual theme variables, once) and small layout helpers.

Every colour is a Textual theme variable (``$text-success``, ``$foreground-muted``…), resolved when a widget
renders, so each built-in theme, light or dark, restyles the whole dashboard. Widgets build Textual `Content`
(not Rich `Text`, whose styles cannot name theme variables). Numbers are formatted by `infbench.metrics`
(`fmt_ms`, `fmt_rate`, `fmt_count`…), the formatters every output shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from textual.content import Content

from infbench.vocab import EventKind, Status, Tone

TONE_STYLE: dict[Tone, str] = {
    Tone.GOOD: "$text-success",
    Tone.WARN: "$text-warning",
    Tone.BAD: "$text-error",
    Tone.INFO: "$text-primary",
    Tone.NOTE: "$text-secondary",
    Tone.MUTED: "$foreground-muted",
    Tone.STRONG: "bold",
    Tone.PLAIN: "",
}
"""How each semantic tone looks in the TUI: the one place tones meet theme variables."""


def tone_style(tone: Tone | str, *, bold: bool = False) -> str:
    """The Textual style string of `tone` (``bold`` added when asked)."""
    style = TONE_STYLE[Tone(tone)]
    if bold and "bold" not in style.split():
        style = f"bold {style}".strip()
    return style


MUTED = TONE_STYLE[Tone.MUTED]
GOOD = TONE_STYLE[Tone.GOOD]
WARN = TONE_STYLE[Tone.WARN]
BAD = TONE_STYLE[Tone.BAD]
INFO = TONE_STYLE[Tone.INFO]
NOTE = TONE_STYLE[Tone.NOTE]
STRONG = TONE_STYLE[Tone.STRONG]
P50_STYLE, P95_STYLE, P99_STYLE = "$success", "$warning", "$error"  # the percentile markers (fills)

KIND_STYLE: dict[str, tuple[str, str]] = {
    kind.value: (kind.glyph, tone_style(kind.tone, bold=kind.bold)) for kind in EventKind
}
"""Event kind → (glyph, style), derived from `vocab.EventKind`."""
UNKNOWN_KIND = ("·", "")
"""Glyph and style of an event kind this version does not know (a newer writer)."""


def kind_style(kind: str) -> tuple[str, str]:
    """(glyph, style) of an event kind, stored as a string or given as an `EventKind`."""
    return KIND_STYLE.get(str(kind), UNKNOWN_KIND)


def status_style(status: str) -> str:
    """The style of a backend status (`vocab.Status.tone`); an unknown status is plain."""
    try:
        return tone_style(Status(str(status)).tone)
    except ValueError:
        return ""


def fmt_clock(s: float) -> str:
    """Seconds as m:ss.s (or h:mm:ss)."""
    s = max(0.0, s)
    if s >= 3600:
        return f"{int(s // 3600)}:{int(s % 3600 // 60):02d}:{int(s % 60):02d}"
    return f"{int(s // 60)}:{s % 60:04.1f}"


def grid_content(chars: np.ndarray, styles: np.ndarray, palette: Sequence[str]) -> Content:
    """Content from a 2-D array of single characters and a same-shape array of palette indices, one span per
    run of equal style (vectorised: a frame costs a few spans per row, not one call per cell)."""
    parts: list[str | tuple[str, str]] = []
    for r in range(chars.shape[0]):
        row = "".join(chars[r].tolist())
        st = styles[r]
        cuts = np.flatnonzero(np.diff(st)) + 1
        if r:
            parts.append("\n")
        for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, st.size].tolist()):
            style = palette[int(st[a])]
            parts.append((row[a:b], style) if style else row[a:b])
    return Content.assemble(*parts)


def pack(items: Sequence[Content], width: int, sep: str = "  ") -> list[Content]:
    """Lay `items` out left to right in lines of at most `width` cells, never splitting an item (an item wider
    than a line gets a line of its own and is folded at the width, so nothing is lost)."""
    lines: list[Content] = []
    line = Content("")
    width = max(width, 1)
    for item in items:
        if not item.cell_length:
            continue
        if line.cell_length and line.cell_length + len(sep) + item.cell_length <= width:
            line = line + sep + item
            continue
        if line.cell_length:
            lines.append(line)
        if item.cell_length <= width:
            line = item
        else:
            folded = wrap(item, width)
            lines.extend(folded[:-1])
            line = folded[-1]
    if line.cell_length:
        lines.append(line)
    return lines


def wrap(content: Content, width: int) -> list[Content]:
    """`content` word-wrapped to `width` cells (words longer than a line are folded)."""
    out: list[Content] = []
    for para in content.split("\n"):
        line = Content("")
        for word in para.split(" "):
            if not word.cell_length:
                continue
            if line.cell_length and line.cell_length + 1 + word.cell_length <= width:
                line = line + " " + word
                continue
            if line.cell_length:
                out.append(line)
            while word.cell_length > width:
                out.append(word[:width])
                word = word[width:]
            line = word
        out.append(line)
    return out or [Content("")]


def num(v: object) -> float | None:
    """A finite float from a monitor value, or None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


class ContentBuilder:
    """Builds a `Content` piece by piece, as `rich.text.Text.append` does (styles may name theme variables)."""

    def __init__(self) -> None:
        self._parts: list[str | tuple[str, str]] = []

    def append(self, text: str, style: str = "") -> ContentBuilder:
        """Add `text` in `style`; returns self, to chain."""
        self._parts.append((text, style) if style else text)
        return self

    def content(self) -> Content:
        """The Content built so far."""
        return Content.assemble(*self._parts)
