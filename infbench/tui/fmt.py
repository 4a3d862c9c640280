"""Small formatters and the style vocabulary shared by the widgets.

Every colour is a Textual theme variable (``$text-success``, ``$foreground-muted``…), resolved when a widget
renders, so each built-in theme, light or dark, restyles the whole dashboard. Widgets build Textual `Content`
(not Rich `Text`, whose styles cannot name theme variables).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from textual.content import Content

# The style vocabulary: semantic names → Textual style strings with theme variables.
MUTED = "$foreground-muted"
GOOD = "$text-success"
WARN = "$text-warning"
BAD = "$text-error"
INFO = "$text-primary"
NOTE = "$text-secondary"
STRONG = "bold"
P50_STYLE, P95_STYLE, P99_STYLE = "$success", "$warning", "$error"  # the percentile markers (fills)

KIND_STYLE: dict[str, tuple[str, str]] = {
    "warmup_end": ("◆", INFO),
    "spike": ("▲", f"bold {BAD}"),
    "drift": ("↗", WARN),
    "step": ("↗", WARN),
    "throttle_on": ("!", f"bold {BAD}"),
    "throttle_off": ("✓", GOOD),
    "engine_error": ("✗", f"bold {BAD}"),
    "mark": ("⚑", f"bold {NOTE}"),
    "pause": ("⏸", WARN),
    "resume": ("▶", GOOD),
    "sensor": ("·", MUTED),
    "run_start": ("●", GOOD),
    "run_end": ("■", GOOD),
    "status": ("·", ""),
    "gc": ("♻", MUTED),
    "detection": ("?", WARN),
}


def fmt_ms(ms: float | None) -> str:
    """A latency in ms with a unit that keeps 3–4 significant digits (µs below 1 ms, s above 10 s)."""
    if ms is None or not math.isfinite(ms):
        return "—"
    if ms < 1.0:
        return f"{ms * 1000:.1f} µs" if ms < 0.1 else f"{ms * 1000:.0f} µs"
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


def fmt_rate(x: float | None) -> str:
    """Calls per second: 812/s, 12.3k/s, 1.20M/s."""
    if x is None or not math.isfinite(x):
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M/s"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k/s"
    return f"{x:.0f}/s" if x >= 100 else f"{x:.1f}/s"


def fmt_count(n: int) -> str:
    """A call count in at most 6 characters: 94, 12,345, 123k, 1.23M."""
    if n < 100_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.0f}k"
    return f"{n / 1e6:.2f}M" if n < 100_000_000 else f"{n / 1e6:.0f}M"


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
