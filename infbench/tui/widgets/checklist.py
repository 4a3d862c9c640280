"""`CheckList`: a `SelectionList` whose boxes read ``[X]`` when checked and ``[ ]`` when not."""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets._toggle_button import ToggleButton

T = TypeVar("T")
UNCHECKED = " "


class CheckList(SelectionList[T]):
    """Textual's `SelectionList` draws the same ``X`` in every box and tells checked from unchecked by colour
    alone; here an unchecked box is empty, so the state reads in any theme and in a plain-text capture."""

    def render_line(self, y: int) -> Strip:
        """The line as `SelectionList` draws it, with the box emptied when its option is not checked."""
        strip = super().render_line(y)
        index = self.scroll_offset.y + y
        if index >= self.option_count:
            return strip
        option = self.get_option_at_index(index)
        if option.value in self.selected:
            return strip
        segments = list(strip)
        inner = ToggleButton.BUTTON_INNER
        if len(segments) > 1 and segments[1].text == inner:
            segments[1] = Segment(UNCHECKED * len(inner), segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)
