"""`GridWidget`: base of the plots drawn as a grid of characters with a small style palette (histogram, timeline).

Palette entries are Textual style strings naming theme variables (``$primary``, ``bold $text-error``…), so the
plots follow the theme. Rendering goes straight to `Strip`s (Textual's line API): one segment per run of equal
style in a row, with the rich style each palette entry gets through Textual's own content path (worked out once
per widget style and theme), so the result looks exactly as `render()`'s `Content` would, at a fraction of the
cost of building and laying out that content on every change. A redraw happens only when a drawn cell changed.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import Visual
from textual.widget import Widget

from infbench.tui.fmt import grid_content

Grid = tuple[np.ndarray, np.ndarray, list[str]]  # characters, palette indices (same shape), palette


class GridWidget(Widget):
    """Subclasses implement `_cells(width, height)` and call `_changed()` when their inputs change."""

    MIN_SIZE = (10, 2)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._drawn: tuple | None = None  # (size, cells) key of the grid below
        self._grid: Content | Grid = Content("")
        self._strips: tuple[tuple, list[Strip]] | None = None  # (key, lines) of the grid as rendered
        self._palette_styles: tuple[tuple, list[RichStyle | None]] | None = None

    def _cells(self, width: int, height: int) -> Content | Grid:
        """The grid for a `width` × `height` content area (or a Content line when there is nothing to plot)."""
        raise NotImplementedError

    def _plot_size(self) -> tuple[int, int]:
        return max(self.size.width, self.MIN_SIZE[0]), max(self.size.height, self.MIN_SIZE[1])

    def _changed(self) -> None:
        """Inputs changed: redraw if a drawn cell differs."""
        if self._draw():
            self.refresh()

    def _draw(self) -> bool:
        """Recompute the cells at the current size; True when they differ from the ones drawn."""
        size = self._plot_size()
        grid = self._cells(*size)
        key = (
            (size, grid.plain, tuple(grid.spans))
            if isinstance(grid, Content)
            else (size, grid[0].tobytes(), grid[1].tobytes())
        )
        if key == self._drawn:
            return False
        self._drawn, self._grid, self._strips = key, grid, None
        return True

    def render(self) -> Content:
        """The grid as Content (what `render_line` draws)."""
        if self._drawn is None or self._drawn[0] != self._plot_size():
            self._draw()
        grid = self._grid
        return grid if isinstance(grid, Content) else grid_content(*grid)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Bring the strips up to date once per paint, then let Textual draw the lines (borders, padding)."""
        self._prepare()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Line `y` of the grid."""
        lines = self._strips[1] if self._strips is not None else self._prepare()
        return lines[y] if 0 <= y < len(lines) else Strip.blank(self.size.width, self.visual_style.rich_style)

    def _prepare(self) -> list[Strip]:
        """The strips for the current size, cells and widget style (rebuilt when one of them changed)."""
        size, style = self.size, self.visual_style
        if self._drawn is None or self._drawn[0] != self._plot_size():
            self._draw()
        key = (self._drawn, size, style, self.app.theme)
        if self._strips is None or self._strips[0] != key:
            self._strips = (key, self._render_strips(size, style))
        return self._strips[1]

    def _render_strips(self, size: Size, style: VisualStyle) -> list[Strip]:
        width, height = size
        grid = self._grid
        if isinstance(grid, Content):
            return Visual.to_strips(self, grid, width, height, style)
        chars, idx, palette = grid
        styles = self._styles_for(style, palette)
        lines: list[Strip] = []
        for r in range(chars.shape[0]):
            row = "".join(chars[r].tolist())
            st = idx[r]
            cuts = (np.flatnonzero(np.diff(st)) + 1).tolist()
            starts, ends = [0, *cuts], [*cuts, st.size]
            lines.append(Strip([Segment(row[a:b], styles[int(st[a])]) for a, b in zip(starts, ends)]))
        return lines

    def _styles_for(self, style: VisualStyle, palette: list[str]) -> list[RichStyle | None]:
        """The rich style of each palette entry as Textual renders it on this widget (computed once per
        widget style and theme): a one-cell content in that style through Textual's visual path, which resolves
        the theme variables."""
        key = (style, tuple(palette), self.app.theme)
        if self._palette_styles is None or self._palette_styles[0] != key:
            out: list[RichStyle | None] = []
            for p in palette:
                strip = Visual.to_strips(self, Content.styled("x", p) if p else Content("x"), 1, 1, style)[0]
                seg = next(iter(strip), None)
                out.append(seg.style.clear_meta_and_links() if seg is not None and seg.style else None)
            self._palette_styles = (key, out)
        return self._palette_styles[1]
