"""Replay: controls move time as expected; snapshot tests rendered from the small fixture session."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from infbench.sessions.reader import open_session
from infbench.tui.app import InfbenchApp
from infbench.tui.screens.replay import ReplayScreen
from tests.tui.synthetic import synthetic_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sessions" / "small.infb"
SIZE = (150, 46)


def _fixture_app(start_s: float, **kw) -> InfbenchApp:
    """A replay of the fixture, paused at `start_s`; the session shown by name only (no machine paths)."""
    return InfbenchApp(data=open_session(FIXTURE), session=FIXTURE.name, start_s=start_s, playing=False, **kw)


async def _wait_final(pilot) -> None:
    end = time.monotonic() + 20
    while not pilot.app.screen.builder.final_ready:
        assert time.monotonic() < end
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def test_controls_move_time(tmp_path: Path) -> None:
    store = synthetic_store(duration_s=30.0)
    app = InfbenchApp(data=store, session="synthetic", start_s=12.0, playing=False, screenshot_dir=str(tmp_path))

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            assert isinstance(scr, ReplayScreen)
            await pilot.pause(0.2)
            assert scr.pos_s == 12.0  # paused: time does not move
            titles = {c.title for c in app.get_system_commands(scr)}
            assert {"Play/Pause", "Next event", "Prev event", "Faster", "Slower", "Screenshot", "Help"} <= titles
            await pilot.press("right")
            assert abs(scr.pos_s - 22.0) < 1e-9
            await pilot.press("left", "left")
            assert abs(scr.pos_s - 2.0) < 1e-9
            await pilot.press("left")
            assert scr.pos_s == 0.0  # clamped
            await pilot.press("n")
            first = scr.pos_s
            assert 0 < first and any(abs((e.t_ns - store.t0_ns) / 1e9 - first) < 1e-9 for e in store.events())
            await pilot.press("n")
            assert scr.pos_s > first
            await pilot.press("N")
            assert scr.pos_s == first
            await pilot.press("plus", "plus", "plus")
            assert scr.speed == 8.0
            await pilot.press("minus")
            assert scr.speed == 4.0
            before, t_before = scr.pos_s, time.monotonic()
            await pilot.press("space")
            await pilot.pause(0.5)
            await pilot.press("space")
            moved, wall = scr.pos_s - before, time.monotonic() - t_before
            assert 0.5 * 4 * 0.8 < moved <= wall * 4 + 0.01  # plays at 4× while playing, stops when paused
            assert not scr.playing
            snap = scr.last_snapshot
            assert snap is not None and abs(snap.t_s - scr.pos_s) < 1e-6
            # scrubber: a click in its middle seeks to about half of the session
            await pilot.click("#scrubber", offset=(scr.query_one("#scrubber").size.width // 2, 0))
            assert abs(scr.pos_s - scr.end_ns / 2e9) < 1.0
            await pilot.press("end")
            await _wait_final(pilot)
            assert all(b.final for b in scr.last_snapshot.backends)
            await pilot.press("s")
            await pilot.pause(0.1)
            await pilot.press("q")

    asyncio.run(drive())
    assert list(tmp_path.glob("*.svg"))


def test_final_numbers_equal_report() -> None:
    from infbench.analysis.summary import build_report

    app = _fixture_app(0.0)
    report = build_report(open_session(FIXTURE))["backends"]

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("end")
            await _wait_final(pilot)
            for b in app.screen.last_snapshot.backends:
                lat = report[b.label]["latency_ms"]
                assert (b.p50_ms, b.p95_ms, b.p99_ms, b.count) == (
                    lat["median"], lat["p95"], lat["p99"], report[b.label]["iterations"])

    asyncio.run(drive())


def test_snapshot_mid_replay(snap_compare) -> None:
    assert snap_compare(_fixture_app(2.3), terminal_size=SIZE)


def test_snapshot_end_of_replay(snap_compare) -> None:
    assert snap_compare(_fixture_app(1000.0), terminal_size=SIZE, run_before=_wait_final)


def test_snapshot_help(snap_compare) -> None:
    assert snap_compare(_fixture_app(1.0), terminal_size=SIZE, press=["question_mark"])


@pytest.mark.parametrize("bad", ["missing.infb", "not-a-session.txt"])
def test_bad_file_one_line(tmp_path: Path, bad: str, capsys) -> None:
    from infbench.cli import main

    path = tmp_path / bad
    if bad.endswith(".txt"):
        path.write_text("hello\n")
    assert main(["replay", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(path) in err
