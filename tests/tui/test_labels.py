"""Variant labels such as `onnxruntime[threads=1]` are shown as written, not read as Textual markup."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from infbench.tui.widgets.backend_panel import BackendPanel
from tests.tui.screen import screen_lines

LABEL = "onnxruntime[threads=1]"


class _One(App):
    def compose(self) -> ComposeResult:
        yield BackendPanel(LABEL, id="p")


def test_a_variant_label_is_shown_whole_in_its_panel_border() -> None:
    async def drive() -> None:
        app = _One()
        async with app.run_test(size=(60, 12)) as pilot:
            await pilot.pause()
            assert LABEL in screen_lines(app)[0], screen_lines(app)[:2]  # the border title

    asyncio.run(drive())
