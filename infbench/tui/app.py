"""`InfbenchApp`: hosts the setup, live and replay screens; every screen action is in the command palette."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from infbench.plan.spec import RunPlan


class InfbenchApp(App):
    """The infbench TUI. Exactly one of `plan` (live, optionally via setup) or `data` (replay) is given.

    `app.run()` returns a `LiveResult` for live runs and 0 for replays.
    """

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere still find it
    TITLE = "infbench"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(
        self,
        *,
        plan: RunPlan | None = None,
        args: argparse.Namespace | None = None,
        setup: bool = False,
        data: Any = None,
        session: str = "",
        speed: float = 1.0,
        start_s: float = 0.0,
        playing: bool = True,
        screenshot_dir: str = ".",
    ) -> None:
        super().__init__()
        self.plan, self.args, self.setup = plan, args, setup
        self.data, self.session, self.speed, self.start_s, self.playing = (
            data,
            session,
            speed,
            start_s,
            playing,
        )
        self.screenshot_dir = screenshot_dir

    def get_default_screen(self) -> Screen:
        """The first screen: setup, live or replay."""
        if self.data is not None:
            from infbench.tui.screens.replay import ReplayScreen

            return ReplayScreen(
                self.data, self.session, speed=self.speed, start_s=self.start_s, playing=self.playing
            )
        assert self.plan is not None
        if self.setup:
            from infbench.tui.screens.setup import SetupScreen

            return SetupScreen(self.plan, self.args)
        from infbench.tui.screens.live import LiveScreen

        args = self.args
        return LiveScreen(
            self.plan, save=getattr(args, "save", None), monitors=not getattr(args, "no_monitors", False)
        )

    async def action_quit(self) -> None:
        """Quit through the screen, so a live run finishes its session file first."""
        handler = getattr(self.screen, "action_quit_run", None)
        if handler is not None:
            handler()
        else:
            self.exit(None)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands plus one per binding of the current screen, by its human name: the binding's
        description as the title, its tooltip and key as the help (never the action's internal call)."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for b in getattr(screen, "BINDINGS", []):
            if not isinstance(b, Binding) or b.action in seen or not b.description:
                continue
            name, params = _parse_action(b.action)
            if screen.check_action(name, params) is False:
                continue  # e.g. the view keys outside the compact layout
            seen.add(b.action)
            help_text = f"{b.tooltip or b.description} (key: {self.get_key_display(b)})"
            yield SystemCommand(b.description, help_text, _runner(screen, b.action))


def _parse_action(action: str) -> tuple[str, tuple[object, ...]]:
    """``seek(10)`` → ("seek", (10,))."""
    from textual.actions import parse

    _, name, params = parse(action)
    return name, params


def _runner(screen: Screen, action: str) -> Any:
    async def run() -> None:
        await screen.run_action(action)

    return run
