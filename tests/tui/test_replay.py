"""Replay: controls move time as expected, recorded statuses, screenshots and the command palette; snapshot
tests rendered from the small fixture session."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from infbench.records import RunEvent
from infbench.sessions.reader import open_session
from infbench.tui.app import InfbenchApp
from infbench.tui.screens import replay as replay_module
from infbench.tui.screens.replay import ReplayScreen
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.backend_table import BackendTable
from tests.tui.screen import widget_text
from tests.tui.synthetic import synthetic_store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sessions" / "small.infb"
SIZE = (150, 46)


def _fixture_app(start_s: float, **kw) -> InfbenchApp:
    """A replay of the fixture, paused at `start_s`; the session shown by name only (no machine paths)."""
    return InfbenchApp(data=open_session(FIXTURE), session=FIXTURE.name, start_s=start_s, playing=False, **kw)


async def _until(pilot, cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Let the app run until `cond` holds (the timeout only guards against a hang)."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


async def _wait_final(pilot) -> None:
    """Until the exact final statistics are on screen and every plot has been flushed since."""
    scr = pilot.app.screen
    await _until(
        pilot,
        lambda: scr.last_snapshot is not None and all(b.final for b in scr.last_snapshot.backends),
        "the exact final statistics on screen",
    )
    settled = scr.ticks + scr.PLOT_EVERY + 1
    await _until(pilot, lambda: scr.ticks >= settled, "the plots to be flushed")


class FakeClock:
    """Stands in for the replay screen's `time.monotonic`: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        """The fake time, in seconds."""
        return self.now


def test_controls_move_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(replay_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    store = synthetic_store(duration_s=30.0)
    app = InfbenchApp(
        data=store, session="synthetic", start_s=12.0, playing=False, screenshot_dir=str(tmp_path)
    )

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            assert isinstance(scr, ReplayScreen)
            ticks = scr.ticks
            clock.now += 5.0
            await _until(pilot, lambda: scr.ticks > ticks, "a frame")
            assert scr.pos_s == 12.0  # started paused: time does not move
            titles = {c.title for c in app.get_system_commands(scr)}
            assert {
                "Play/Pause",
                "Next event",
                "Prev event",
                "Faster",
                "Slower",
                "Screenshot",
                "Help",
            } <= titles
            await pilot.press("right")
            assert abs(scr.pos_s - 22.0) < 1e-9
            await pilot.press("left", "left")
            assert abs(scr.pos_s - 2.0) < 1e-9
            await pilot.press("left")
            assert scr.pos_s == 0.0  # clamped
            await pilot.press("n")
            first = scr.pos_s
            assert first > 0 and any(abs((e.t_ns - store.t0_ns) / 1e9 - first) < 1e-9 for e in store.events())
            await pilot.press("n")
            assert scr.pos_s > first
            await pilot.press("N")
            assert scr.pos_s == first
            await pilot.press("plus", "plus", "plus")
            assert scr.speed == 8.0
            await pilot.press("minus")
            assert scr.speed == 4.0
            before = scr.pos_ns
            await pilot.press("space")
            assert scr.playing and scr.pos_ns == before  # the clock has not moved: neither has the replay
            ticks = scr.ticks
            clock.now += 0.5
            await _until(pilot, lambda: scr.ticks > ticks, "a frame")
            assert scr.pos_ns - before == 2_000_000_000  # 0.5 s at 4× is 2 s of the run
            await pilot.press("space")
            assert not scr.playing
            ticks = scr.ticks
            clock.now += 10.0
            await _until(pilot, lambda: scr.ticks > ticks, "a frame")
            assert scr.pos_ns - before == 2_000_000_000  # paused: time does not move
            snap = scr.last_snapshot
            assert snap is not None and abs(snap.t_s - scr.pos_s) < 1e-6
            await pilot.press("space")  # play 0.25 s and pause again before a frame is drawn
            clock.now += 0.25
            await pilot.press("space")
            assert not scr.playing and scr.pos_ns - before == 3_000_000_000  # that 0.25 s at 4× counts
            # scrubber: a click in its middle seeks to about half of the session
            await pilot.click("#scrubber", offset=(scr.query_one("#scrubber").size.width // 2, 0))
            assert abs(scr.pos_s - scr.end_ns / 2e9) < 1.0
            await pilot.press("space")  # play on past the end: the replay stops there
            clock.now += 1000.0
            await _until(pilot, lambda: not scr.playing, "the end of the replay")
            assert scr.pos_ns == scr.end_ns
            await _wait_final(pilot)
            assert all(b.final for b in scr.last_snapshot.backends)
            await pilot.press("home")
            assert scr.pos_ns == 0
            await pilot.press("end")
            assert scr.pos_ns == scr.end_ns
            await pilot.press("s")
            await _until(pilot, lambda: bool(list(tmp_path.glob("*.svg"))), "the screenshot")
            await pilot.press("q")

    asyncio.run(drive())
    end_s = (store.end_ns() - store.t0_ns) / 1e9  # the screenshot is named after the session and the instant
    assert [p.name for p in tmp_path.glob("*.svg")] == [f"synthetic-t{end_s:07.1f}s.svg"]


def test_final_numbers_are_the_exact_statistics_of_the_recorded_calls() -> None:
    data = open_session(FIXTURE)
    expected = {}
    for label in data.backend_infos():
        ms = data.samples(label, phase="measure")[1].astype(np.float64) / 1e6
        expected[label] = (ms.size, *np.percentile(ms, [50, 95, 99]), ms.mean(), ms.size / (ms.sum() / 1e3))
    assert len(expected) >= 2 and all(e[0] > 0 for e in expected.values())
    app = _fixture_app(0.0)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("end")
            await _wait_final(pilot)
            snap = app.screen.last_snapshot
            assert {b.label for b in snap.backends} == set(expected)
            for b in snap.backends:
                assert b.final and b.count == expected[b.label][0]
                assert (b.p50_ms, b.p95_ms, b.p99_ms, b.mean_ms, b.throughput) == pytest.approx(
                    expected[b.label][1:], rel=1e-12
                )

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


def test_snapshot_compact_80x24(snap_compare) -> None:
    assert snap_compare(_fixture_app(2.3), terminal_size=(80, 24))


def test_snapshot_light_theme(snap_compare) -> None:
    async def light(pilot) -> None:
        pilot.app.theme = "textual-light"
        await pilot.pause(0.2)

    assert snap_compare(_fixture_app(2.3), terminal_size=SIZE, run_before=light)


def test_screenshots_at_the_same_instant_are_all_kept(tmp_path: Path) -> None:
    app = _fixture_app(2.3, screenshot_dir=str(tmp_path))
    notes: list[str] = []

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
            for k in range(3):
                await pilot.press("s")
                await _until(
                    pilot, lambda k=k: len(list(tmp_path.glob("*.svg"))) == k + 1, f"screenshot {k + 1}"
                )

    asyncio.run(drive())
    names = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert names == ["small-t00002.3s-2.svg", "small-t00002.3s-3.svg", "small-t00002.3s.svg"]
    assert [n.rsplit("/", 1)[-1] for n in notes] == [
        "small-t00002.3s.svg",
        "small-t00002.3s-2.svg",
        "small-t00002.3s-3.svg",
    ]  # each one announced


def test_command_palette_shows_human_names() -> None:
    app = _fixture_app(1.0)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.1)
            scr = app.screen
            commands = list(app.get_system_commands(scr))
            ours = {c.title: c.help for c in commands if "(key: " in c.help}
            assert {
                "Play/Pause",
                "Back 10 s",
                "Forward 10 s",
                "Slower",
                "Faster",
                "Go to start",
                "Go to end",
                "Next event",
                "Prev event",
                "Screenshot",
                "Help",
                "Quit",
            } <= set(ours)
            internal = {
                a for b in scr.BINDINGS for a in (b.action, b.action.split("(")[0]) if "_" in a or "(" in a
            }  # seek(10), speed(1), toggle_play, seek_to_end…
            for title, help_text in ours.items():  # no `seek(10)`, `speed(1)`, `toggle_play`…
                text = f"{title} {help_text.removesuffix(')').rsplit(' (key: ', 1)[0]}"
                assert not any(a in text for a in internal) and not re.search(r"\w\(", text), (
                    title,
                    help_text,
                )
            assert ours["Forward 10 s"] == "Seek 10 s forward (key: →)"
            assert "1" not in {c.title for c in commands} and "Machine" not in ours  # side by side: no views
            seek = next(c for c in commands if c.title == "Forward 10 s")
            await seek.callback()
            assert scr.pos_ns == scr.end_ns  # 1 s + 10 s, clamped to the end

    asyncio.run(drive())


def test_replay_shows_the_status_recorded_at_the_instant() -> None:
    """In the fixture each backend loads in 1 ms (recorded: loading, then warm-up with its load time) and runs
    its first calls much later: between the two, it is warming up, not loading."""
    app = _fixture_app(0.0025)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await _until(pilot, lambda: scr.last_snapshot is not None, "a frame")
            await pilot.pause(0.2)
            got = {b.label: (b.status, b.load_ms) for b in scr.last_snapshot.backends}
            assert got == {
                "onnxruntime": ("warmup", 40.0),
                "openvino": ("warmup", 150.0),
                "torch": ("loading", None),
            }
            panels = {p.label: p for p in scr.query(BackendPanel)}
            assert "onnxruntime  warm-up" in widget_text(app, panels["onnxruntime"])
            torch = widget_text(app, panels["torch"])
            assert "loading… 0.0 s" in torch and "load 900 ms" not in torch  # no load time while loading
            scr.action_seek_to(0.0005)
            await pilot.pause(0.1)
            assert [b.status_text for b in scr.last_snapshot.backends] == [
                "loading… 0.0 s",
                "waiting to load",
                "waiting to load",
            ]

    asyncio.run(drive())


def test_replay_shows_how_long_a_backend_has_been_loading(tmp_path: Path) -> None:
    """A session recorded with a fake clock: torch loads from 1 s to 5 s; at 3.5 s it has loaded for 2.5 s."""
    from infbench.records import BackendInfo
    from infbench.sessions.recorder import Recorder

    t0 = 10 * 1_000_000_000
    now = [t0]
    path = tmp_path / "loading.infb"
    rec = Recorder(path, clock=lambda: now[0], wall_clock=lambda: 1_700_000_000.0)
    rec.on_start(
        {"model": "bert-tiny", "backends": [{"label": "torch", "backend": "torch", "options": {}}]},
        {},
        t0,
        1_700_000_000.0,
    )
    for at_s, info in (
        (1.0, BackendInfo("torch", "torch", {}, status="loading")),
        (5.0, BackendInfo("torch", "torch", {}, status="loaded", load_ms=4000.0)),
    ):
        now[0] = t0 + int(at_s * 1e9)
        rec.on_backend(info)
    rec.on_event(RunEvent(t0 + 6_000_000_000, "run_end", "run interrupted"))
    rec.on_finish("interrupted")
    rec.close("interrupted")
    app = InfbenchApp(data=open_session(path), session=path.name, start_s=3.5, playing=False)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            scr = app.screen
            await _until(pilot, lambda: scr.last_snapshot is not None, "a frame")
            await pilot.pause(0.2)
            (b,) = scr.last_snapshot.backends
            assert b.status_text == "loading… 2.5 s" and b.load_elapsed_s == pytest.approx(2.5, abs=1e-3)
            assert "loading… 2.5 s" in widget_text(app, next(iter(scr.query(BackendPanel))))
            assert "load 2s" in widget_text(app, scr.query_one(BackendTable))
            scr.action_seek_to(0.5)
            await pilot.pause(0.1)
            assert scr.last_snapshot.backends[0].status_text == "waiting to load"
            scr.action_seek_to(5.5)
            await pilot.pause(0.1)
            assert scr.last_snapshot.backends[0].status_text == "loaded"

    asyncio.run(drive())
