"""Every built-in theme, light or dark, restyles the dashboard: borders and titles stand out from the
background, and the plots take the theme's colours."""

from __future__ import annotations

import asyncio

import pytest
from textual.color import Color
from textual.theme import BUILTIN_THEMES
from textual.widget import Widget

from infbench.tui.app import InfbenchApp
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.events import EventsLog
from infbench.tui.widgets.histogram import LatencyHistogram
from infbench.tui.widgets.monitor_panel import MonitorPanel
from tests.tui.synthetic import synthetic_store

THEMES = sorted(BUILTIN_THEMES)


def _luminance(c: Color) -> float:
    def lin(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b)


def contrast(fg: Color, bg: Color) -> float:
    """WCAG contrast ratio of `fg` (alpha-blended over `bg`) against `bg`."""
    a, b = _luminance(bg + fg), _luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def _edges(widget: Widget) -> tuple[Color, Color, Color]:
    """(border colour, border-title colour, the background the border is drawn on)."""
    styles = widget.styles
    background = widget.background_colors[0]
    return styles.border_top[1], styles.border_title_color, background


@pytest.mark.parametrize("theme", THEMES)
def test_borders_and_titles_stand_out_in_every_theme(theme: str) -> None:
    app = InfbenchApp(data=synthetic_store(), session="synthetic", start_s=3.0, playing=False)
    seen: dict[str, tuple[float, float]] = {}

    async def drive() -> None:
        async with app.run_test(size=(150, 46)) as pilot:
            app.theme = theme
            app.screen.set_focus(None)  # every panel unselected: the faintest border
            await pilot.pause(0.2)
            for widget in (
                *app.screen.query(BackendPanel),
                app.screen.query_one(MonitorPanel),
                app.screen.query_one(EventsLog),
            ):
                border, title, background = _edges(widget)
                if background.ansi is not None:  # an ANSI theme: the terminal's own colours, so the border
                    assert border.ansi == title.ansi == -1  # must be its default foreground, as the text
                    continue
                seen[str(widget.border_title)] = (contrast(border, background), contrast(title, background))

    asyncio.run(drive())
    assert seen or theme.startswith("ansi")
    for name, (border, title) in seen.items():
        assert border >= 2.0, f"{theme}: the border of {name} has contrast {border:.2f}"
        assert title >= 4.5, f"{theme}: the title of {name} has contrast {title:.2f}"


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "gruvbox"])
def test_histogram_bars_take_the_theme_primary_colour(theme: str) -> None:
    app = InfbenchApp(data=synthetic_store(), session="synthetic", start_s=3.0, playing=False)
    colours: set[str] = set()

    async def drive() -> None:
        async with app.run_test(size=(150, 46)) as pilot:
            app.theme = theme
            await pilot.pause(0.3)
            primary = Color.parse(app.theme_variables["primary"])
            hist = app.screen.query(LatencyHistogram).first()
            for y in range(hist.size.height - 2):  # the bar rows
                for seg in hist.render_line(y):
                    if seg.text.strip(" ") and "█" in seg.text and seg.style and seg.style.color:
                        colours.add(Color.from_rich_color(seg.style.color).hex)
            assert primary.hex in colours, (primary.hex, colours)

    asyncio.run(drive())
