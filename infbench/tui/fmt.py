"""Small number formatters shared by the widgets."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

KIND_STYLE = {
    "warmup_end": ("◆", "cyan"), "spike": ("▲", "bold red"), "drift": ("↗", "yellow"), "step": ("↗", "yellow"),
    "throttle_on": ("🌡", "bold red"), "throttle_off": ("✓", "green"), "engine_error": ("✗", "bold red"),
    "mark": ("⚑", "bold magenta"), "pause": ("⏸", "yellow"), "resume": ("▶", "green"),
    "sensor": ("·", "dim"), "run_start": ("●", "green"), "run_end": ("■", "green"), "status": ("·", ""),
    "gc": ("♻", "dim"), "detection": ("?", "yellow"),
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


def fmt_clock(s: float) -> str:
    """Seconds as m:ss.s (or h:mm:ss)."""
    s = max(0.0, s)
    if s >= 3600:
        return f"{int(s // 3600)}:{int(s % 3600 // 60):02d}:{int(s % 60):02d}"
    return f"{int(s // 60)}:{s % 60:04.1f}"


def grid_text(chars: np.ndarray, styles: np.ndarray, palette: list[str]) -> Text:
    """Rich Text from a 2-D array of single characters and a same-shape array of palette indices, one span
    per run of equal style (vectorised: a frame costs a few spans per row, not one call per cell)."""
    out = Text(no_wrap=True, overflow="crop")
    for r in range(chars.shape[0]):
        row = "".join(chars[r].tolist())
        st = styles[r]
        cuts = np.flatnonzero(np.diff(st)) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, st.size]
        if r:
            out.append("\n")
        for a, b in zip(starts.tolist(), ends.tolist()):
            out.append(row[a:b], style=palette[int(st[a])] or None)
    return out


def num(v: object) -> float | None:
    """A finite float from a monitor value, or None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None

