"""Pilot tests of real live runs: setup → start → pause → mark → quit leaves a complete session file; q on a
run that has finished measuring exits 0."""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
import time
from pathlib import Path

import pytest

from infbench.plan.build import plan_from_args
from infbench.sessions.reader import open_session
from infbench.tui.app import InfbenchApp
from infbench.tui.screens.live import LiveResult, LiveScreen
from infbench.tui.screens.mark import MarkModal


def _args(save: Path, duration: float = 30.0) -> argparse.Namespace:
    return argparse.Namespace(
        model="bert-tiny",
        backend=["ort", "null"],
        batch=1,
        seq=32,
        seq_dist=None,
        threads=1,
        inter_threads=None,
        device=None,
        duration=duration,
        iterations=10,
        warmup="5",
        schedule="interleaved",
        block=0.1,
        seed=0,
        timeout=60.0,
        parity_tol=1e-3,
        save=str(save),
        no_monitors=False,
        json=None,
        csv=None,
        setup=True,
        headless=False,
    )


async def _until(pilot, cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await pilot.pause(0.1)


@pytest.mark.slow
def test_setup_start_pause_mark_quit(tmp_path: Path) -> None:
    save = tmp_path / "live.infb"
    args = _args(save)
    app = InfbenchApp(plan=plan_from_args(args), args=args, setup=True, screenshot_dir=str(tmp_path))

    async def drive() -> None:
        async with app.run_test(size=(140, 44)) as pilot:
            await _until(pilot, lambda: app.focused is not None and app.focused.id == "model")
            await pilot.press("enter")  # Enter in the focused model field starts with the defaults
            await _until(pilot, lambda: isinstance(app.screen, LiveScreen))
            live = app.screen
            await _until(
                pilot,
                lambda: (
                    live.last_snapshot is not None and all(b.count > 0 for b in live.last_snapshot.backends)
                ),
            )
            await pilot.press("p")
            await _until(pilot, lambda: live.rec.runner.paused)
            await pilot.press("m")
            await _until(pilot, lambda: isinstance(app.screen, MarkModal) and app.screen.query("#note"))
            await pilot.press(*"fan on", "enter")
            await _until(pilot, lambda: app.screen is live)
            await pilot.press("p")
            await _until(pilot, lambda: not live.rec.runner.paused)
            await pilot.press("s")
            await _until(pilot, lambda: bool(list(tmp_path.glob("*.svg"))))
            await pilot.press("q")
            await _until(pilot, lambda: app.return_value is not None, timeout=60)

    asyncio.run(drive())
    result = app.return_value
    assert isinstance(result, LiveResult) and result.code == 130 and result.path == str(save)
    data = open_session(save)
    assert data.outcome() == "interrupted"
    kinds = [e.kind for e in data.events()]
    assert "pause" in kinds and "resume" in kinds
    assert any(e.kind == "mark" and e.message == "fan on" for e in data.events())
    assert data.samples("null")[0].size > 0 and data.samples("onnxruntime")[0].size > 0
    assert list(tmp_path.glob("*.svg"))


@pytest.mark.slow
def test_q_once_every_backend_has_finished_measuring_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """q pressed when every backend is done but before the runner has called the run complete (the window is
    held open here) must not turn a finished run into an interrupted one: exit 0, outcome complete."""
    from infbench.run.runner import Runner

    measured, release = threading.Event(), threading.Event()
    measure = Runner._measure

    def held(self: Runner) -> None:
        measure(self)
        measured.set()
        release.wait(60)

    monkeypatch.setattr(Runner, "_measure", held)
    save = tmp_path / "done.infb"
    args = _args(save, duration=0.3)
    args.backend, args.setup, args.no_monitors = ["null"], False, True
    app = InfbenchApp(plan=plan_from_args(args), args=args)

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, measured.is_set)
            live = app.screen
            assert isinstance(live, LiveScreen)
            await _until(pilot, live.measuring_over)
            await pilot.press("q")
            assert live.phase == "finishing"  # waits for the run to complete instead of stopping it
            release.set()
            await _until(pilot, lambda: app.return_value is not None)

    try:
        asyncio.run(drive())
    finally:
        release.set()
    result = app.return_value
    assert isinstance(result, LiveResult) and result.code == 0 and result.path == str(save)
    assert open_session(save).outcome() == "complete"


def test_preparation_steps_and_loading_show_their_elapsed_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No engine: the run worker is left out, its messages are posted by the test, and the store is fed as the
    runner feeds it (a backend turns ``loading``)."""
    from types import SimpleNamespace

    from infbench.records import BackendInfo
    from infbench.sessions.store import LiveStore
    from infbench.tui.messages import Progress, RunStarted
    from infbench.tui.widgets.backend_panel import BackendPanel
    from infbench.tui.widgets.header import RunHeader
    from tests.tui.screen import widget_text

    now = [100.0]
    monkeypatch.setattr(LiveScreen, "run_worker_thread", lambda self: None)
    monkeypatch.setattr(LiveScreen, "monotonic", staticmethod(lambda: now[0]))
    args = _args(tmp_path / "x.infb")
    args.setup = False
    plan = plan_from_args(args)
    app = InfbenchApp(plan=plan, args=args)

    async def drive() -> None:
        async with app.run_test(size=(140, 44)) as pilot:
            live = app.screen
            assert isinstance(live, LiveScreen)
            header = live.query_one(RunHeader)
            live.post_message(Progress("exporting bert-tiny to ONNX…"))
            await _until(pilot, lambda: "exporting bert-tiny to ONNX… 0.0 s" in widget_text(app, header))
            now[0] += 3.25
            await _until(pilot, lambda: "exporting bert-tiny to ONNX… 3.2 s" in widget_text(app, header))
            store = LiveStore()
            store.on_start(plan.to_dict(), {}, time.perf_counter_ns(), time.time())
            store.on_backend(BackendInfo("onnxruntime", "onnxruntime", {}, status="loading"))
            live.rec = SimpleNamespace(store=store, runner=SimpleNamespace(paused=False), outcome=None)
            live.post_message(RunStarted())
            panel = next(p for p in live.query(BackendPanel) if p.label == "onnxruntime")
            await _until(pilot, lambda: "onnxruntime  loading… " in widget_text(app, panel))
            assert re.search(r"onnxruntime  loading… \d+\.\d s", widget_text(app, panel))
            assert "null  waiting to load" in widget_text(
                app, next(p for p in live.query(BackendPanel) if p.label == "null")
            )
            live._stop_build.set()

    asyncio.run(drive())
