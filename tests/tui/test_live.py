"""Pilot test of a real live run: setup → start → pause → mark → quit leaves a complete session file."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import pytest

from infbench.commands.plan_args import plan_from_args
from infbench.sessions.reader import open_session
from infbench.tui.app import InfbenchApp
from infbench.tui.screens.live import LiveResult, LiveScreen
from infbench.tui.screens.mark import MarkModal


def _args(save: Path, duration: float = 30.0) -> argparse.Namespace:
    return argparse.Namespace(
        model="bert-tiny", backend=["ort", "null"], batch=1, seq=32, seq_dist=None, threads=1, inter_threads=None,
        device=None, duration=duration, iterations=10, warmup="5", schedule="interleaved", block=0.1, seed=0,
        timeout=60.0, parity_tol=1e-3, save=str(save), no_monitors=False, json=None, csv=None, setup=True,
        headless=False)


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
            await _until(pilot, lambda: app.focused is not None and app.focused.id == "start")
            await pilot.press("enter")  # Start is focused
            await _until(pilot, lambda: isinstance(app.screen, LiveScreen))
            live = app.screen
            await _until(pilot, lambda: live.last_snapshot is not None
                         and all(b.count > 0 for b in live.last_snapshot.backends))
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
