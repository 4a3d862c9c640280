"""Every built-in theme, light or dark, restyles the dashboard: borders and titles stand out from the
background, the plots take the theme's colours, and the text inside the panels (status, statistics, event
glyphs, monitor bars) changes colour with the theme: no widget colour is hard-coded."""

from __future__ import annotations

import asyncio

import pytest
from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES
from textual.widget import Widget

from infbench.tui.app import InfbenchApp
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.events import EventsLog
from infbench.tui.widgets.histogram import LatencyHistogram
from infbench.tui.widgets.monitor_panel import MonitorPanel
from tests.tui.screen import widget_colours
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


def _theme_colour(app: InfbenchApp, variable: str) -> str:
    """The hex colour a theme variable resolves to (over the screen background when it is translucent)."""
    background = Color.parse(app.theme_variables["background"])
    return (background + Color.parse(app.theme_variables[variable])).hex


def _theme_palette(app: InfbenchApp, background: Color) -> set[str]:
    """Every colour a theme variable can draw text in over `background` (translucent ones blended)."""
    out: set[str] = set()
    for value in app.theme_variables.values():
        try:
            out.add((background + Color.parse(value)).hex)
        except ColorParseError:  # not a colour (a variable naming a style, a size…)
            continue
    return out


@pytest.mark.parametrize(
    "pair", [("textual-dark", "textual-light"), ("nord", "gruvbox"), ("dracula", "solarized-light")]
)
def test_switching_theme_restyles_the_text_of_panel_events_and_monitor(pair: tuple[str, str]) -> None:
    """The synthetic run mid-way (a spike, throttling, a mark, a crash): the colours of the text drawn inside
    the backend panel, the event list and the monitor panel all change with the theme, and each theme's own
    success, warning and error text colours are among them; every colour drawn is one of the theme's."""
    app = InfbenchApp(
        data=synthetic_store(crash="out of memory"), session="synthetic", start_s=4.2, playing=False
    )
    seen: dict[str, dict[str, set[str]]] = {}

    async def drive() -> None:
        async with app.run_test(size=(170, 46)) as pilot:
            for theme in pair:
                app.theme = theme
                app.screen.set_focus(None)
                await pilot.pause(0.3)
                widgets = {
                    "panel": app.screen.query(BackendPanel).first(),
                    "events": app.screen.query_one(EventsLog),
                    "monitor": app.screen.query_one(MonitorPanel),
                }
                seen[theme] = {name: widget_colours(app, w) for name, w in widgets.items()}
                for name, w in widgets.items():  # every colour drawn is one of the theme's variables
                    stray = seen[theme][name] - _theme_palette(app, w.background_colors[1])
                    assert not stray, (theme, name, stray)
                text = {v: _theme_colour(app, v) for v in ("text-success", "text-warning", "text-error")}
                panel_text = seen[theme]["panel"]
                assert text["text-success"] in panel_text, (theme, text, panel_text)  # running, the median
                assert {text["text-warning"], text["text-error"]} <= panel_text  # p95, p99
                events_text = seen[theme]["events"]
                assert text["text-error"] in events_text, (theme, text, events_text)  # the crash, the spike
                monitor = seen[theme]["monitor"]
                assert text["text-error"] in monitor, (theme, text, monitor)  # THROTTLING

    asyncio.run(drive())
    a, b = (seen[t] for t in pair)
    for name in ("panel", "events", "monitor"):
        assert a[name] and b[name] and a[name] != b[name], (name, a[name], b[name])
