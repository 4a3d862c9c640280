"""What a running app shows, as plain text: the whole screen, or the part inside one widget."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App
from textual.color import Color
from textual.geometry import Region
from textual.widget import Widget


def screen_lines(app: App) -> list[str]:
    """The screen as the terminal shows it, one string per row (padded to the width)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    lines = console.export_text(styles=False).split("\n")[:height]
    return [line.ljust(width) for line in lines]


def region_lines(app: App, region: Region) -> list[str]:
    """The rows of `region` of the screen, cut to its columns."""
    lines = screen_lines(app)
    return [line[region.x : region.right] for line in lines[region.y : region.bottom]]


def widget_text(app: App, widget: Widget) -> str:
    """What is drawn inside `widget`'s content area (its border and padding left out), rows joined by
    newlines; empty when the widget is not displayed."""
    if not widget.display or not widget.region.area:
        return ""
    return "\n".join(line.rstrip() for line in region_lines(app, widget.content_region))


def widget_colours(app: App, widget: Widget) -> set[str]:
    """The foreground colours (hex) of the visible text drawn inside `widget`'s content area."""
    region = widget.content_region
    strips = app.screen._compositor.render_strips()
    colours: set[str] = set()
    for strip in strips[region.y : region.bottom]:
        x = 0
        for seg in strip:
            end = x + seg.cell_length
            if end > region.x and x < region.right and seg.text.strip() and seg.style and seg.style.color:
                colours.add(Color.from_rich_color(seg.style.color).hex)
            x = end
    return colours
