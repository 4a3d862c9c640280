"""The setup form: typing works at once, checked backends read as checked in plain text, every field reaches
the plan, and an error goes away once the input is fixed. The live screen is replaced by a stub that records
what it was given (no engine starts)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual.screen import Screen
from textual.widgets import Input, Static

from infbench.plan.build import plan_from_args
from infbench.tui.app import InfbenchApp
from infbench.tui.screens import live as live_module
from infbench.tui.screens.setup import SetupScreen
from infbench.tui.widgets.checklist import CheckList
from tests.tui.screen import screen_lines, widget_text


def _args(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(
        **{
            "model": "bert-tiny",
            "backend": ["ort", "null"],
            "batch": 1,
            "seq": 32,
            "seq_dist": None,
            "threads": None,
            "inter_threads": None,
            "device": None,
            "duration": 10.0,
            "iterations": 100,
            "warmup": "10",
            "schedule": "interleaved",
            "block": 0.25,
            "seed": 0,
            "timeout": 60.0,
            "parity_tol": 1e-3,
            "save": None,
            "no_monitors": True,
            "json": None,
            "csv": None,
            "setup": True,
            "headless": False,
            "aa": False,
            **kw,
        }
    )


class StubLive(Screen):
    """Stands in for `LiveScreen`: records its arguments; `fail` makes it come back with that error."""

    started: ClassVar[list[StubLive]] = []
    fail: ClassVar[str | None] = None

    def __init__(
        self, plan: Any, *, save: str | None = None, monitors: bool = True, from_setup: bool = False
    ) -> None:
        super().__init__()
        self.plan, self.save, self.monitors, self.from_setup = plan, save, monitors, from_setup
        StubLive.started.append(self)

    def on_mount(self) -> None:
        """Come back at once when told to fail."""
        if StubLive.fail:
            self.dismiss(StubLive.fail)


@pytest.fixture
def stub_live(monkeypatch: pytest.MonkeyPatch) -> type[StubLive]:
    StubLive.started, StubLive.fail = [], None
    monkeypatch.setattr(live_module, "LiveScreen", StubLive)
    return StubLive


async def _until(pilot, cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def _app(**kw: Any) -> InfbenchApp:
    args = _args(**kw)
    return InfbenchApp(plan=plan_from_args(args), args=args, setup=True)


def test_typing_works_at_once_and_enter_starts(stub_live: type[StubLive]) -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, SetupScreen), "the form")
            await pilot.pause(0.1)
            assert app.focused is not None and app.focused.id == "model"
            await pilot.press(*"bert-small")  # the prefilled name is selected: typing replaces it
            assert app.screen.query_one("#model", Input).value == "bert-small"
            await pilot.press("enter")
            await _until(pilot, lambda: bool(stub_live.started), "the run to start")

    asyncio.run(drive())
    assert stub_live.started[0].plan.model == "bert-small"


def test_checked_and_unchecked_backends_differ_in_text(stub_live: type[StubLive]) -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            checklist = app.screen.query_one("#backends", CheckList)
            options = [checklist.get_option_at_index(i).value for i in range(checklist.option_count)]
            assert {"onnxruntime", "null"} <= set(options) and len(options) >= 3
            rows = [
                (row[:3], row[4:].split()[0]) for row in widget_text(app, checklist).splitlines() if row[4:]
            ]
            shown = {name: box for box, name in rows if name in options}
            assert {"onnxruntime", "openvino", "null"} <= set(shown)
            for name, box in shown.items():  # only the checked ones have an X in their box
                assert ("X" in box) == (name in ("onnxruntime", "null")), (name, box)
            checklist.focus()
            checklist.highlighted = options.index("openvino")
            await pilot.press("space")
            await pilot.pause(0.1)
            line = next(row for row in widget_text(app, checklist).splitlines() if "openvino" in row)
            assert "X" in line.split("openvino")[0]

    asyncio.run(drive())


def test_every_field_reaches_the_plan(stub_live: type[StubLive], tmp_path: Path) -> None:
    app = _app()
    save = tmp_path / "mine.infb"

    async def drive() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.2)
            scr = app.screen
            for key, value in (
                ("threads", "2"),
                ("warmup", "2s"),
                ("iterations", "5"),
                ("duration", "3"),
                ("options", "ort:graph_opt=basic ort:graph_opt=all"),
                ("save", str(save)),
            ):
                scr.query_one(f"#{key}", Input).value = value
            aa = scr.query_one("#aa", CheckList)
            aa.focus()
            await pilot.press("space")
            await pilot.pause(0.1)
            assert "X" in next(r for r in screen_lines(app) if "run the first backend twice" in r)
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: bool(stub_live.started), "the run to start")

    asyncio.run(drive())
    live = stub_live.started[0]
    plan = live.plan
    assert live.save == str(save) and live.from_setup and not live.monitors
    assert plan.duration_s == 3.0 and plan.iterations == 5 and plan.warmup_s == 2.0
    onnx = [b for b in plan.backends if b.backend == "onnxruntime"]
    assert [b.options.get("graph_opt") for b in onnx] == ["basic", "all", "basic"]  # two variants + A/A twin
    assert all(b.options.get("threads") == 2 for b in onnx)
    assert onnx[-1].label.endswith("#aa") and [b.backend for b in plan.backends].count("null") == 1


def test_an_error_stays_only_until_the_input_is_fixed(stub_live: type[StubLive], tmp_path: Path) -> None:
    app = _app()
    existing = tmp_path / "taken.infb"
    existing.write_text("not empty")

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            scr = app.screen
            error = scr.query_one("#error", Static)
            threads = scr.query_one("#threads", Input)
            threads.value = "0"
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
            assert not stub_live.started and error.display and "threads" in widget_text(app, error)
            threads.value = "x1"  # still wrong: the message follows the input
            await pilot.pause(0.1)
            assert error.display and "threads" in widget_text(app, error)
            threads.value = "3"  # fixed: the error goes
            await pilot.pause(0.1)
            assert not error.display and scr.error is None
            scr.query_one("#save", Input).value = str(existing)
            scr.query_one("#options", Input).value = "ov:hint=latency"  # openvino is not checked
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
            assert error.display and not stub_live.started
            scr.query_one("#options", Input).value = ""
            await pilot.pause(0.1)
            assert error.display and "taken.infb" in _flat(widget_text(app, error))  # the next problem
            scr.query_one("#save", Input).value = ""
            await pilot.pause(0.1)
            assert not error.display
            stub_live.fail = "model bert-tiny could not be exported: boom"  # the run cannot start
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: app.screen is scr and bool(stub_live.started), "back to the form")
            await pilot.pause(0.1)
            assert error.display and "boom" in widget_text(app, error)

    asyncio.run(drive())


def _flat(text: str) -> str:
    return " ".join(text.split())
