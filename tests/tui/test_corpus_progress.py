"""Whole-corpus progress in the TUI and the setup form's workload fields (declared in `plan.workload`): the
panel's corpus bar in a replay of a recorded run (passes done and the current pass's fraction at the replay's
instant), and the form's corpus and batch-list fields reaching the plan like the flags."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import Input, Static

from infbench.plan.build import plan_from_args
from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.records import BackendInfo, RunEvent, SampleBlock, TurnRecord
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder
from infbench.tui.app import InfbenchApp
from infbench.tui.screens import live as live_module
from infbench.tui.screens.live import LiveScreen
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.corpus_bar import CorpusProgress, corpus_lines
from tests.tui.screen import widget_text
from tests.tui.test_setup import StubLive, _app, _until

T0 = 10 * 1_000_000_000


@pytest.fixture
def stub_live(monkeypatch: pytest.MonkeyPatch) -> type[StubLive]:
    """The live screen replaced by `StubLive` (no engine starts), as in test_setup."""
    StubLive.started, StubLive.fail = [], None
    monkeypatch.setattr(live_module, "LiveScreen", StubLive)
    return StubLive


CALL_NS = 100_000_000  # one call every 0.1 s


def _recorded(path: Path) -> Path:
    """A run of bert-tiny at batch 4 over a 40-text corpus, 2 passes of 10 calls wanted; 25 calls recorded
    from t = 1 s, one every 0.1 s, in turns of 5; the null control beside it."""
    plan = RunPlan(
        model="bert-tiny",
        backends=(BackendSpec("onnxruntime", "onnxruntime"), BackendSpec("null", "null")),
        workload=WorkloadSpec(batch=4, corpus="builtin", corpus_texts=40, whole_corpus=2),
    ).to_dict()
    rec = Recorder(path)
    rec.on_start(plan, {}, T0, 1_700_000_000.0)
    for label, engine in (("onnxruntime", "onnxruntime"), ("null", "null")):
        rec.on_backend(BackendInfo(label, engine, {}, status="running", load_ms=5.0, roles=[]))
    for turn in range(5):
        t = T0 + 1_000_000_000 + turn * 5 * CALL_NS
        start = t + np.arange(5, dtype=np.int64) * CALL_NS
        dur = np.full(5, CALL_NS - 1000, dtype=np.int64)
        for label in ("onnxruntime", "null"):
            rec.on_samples(SampleBlock(label, "measure", start, dur, np.zeros(5, np.int32)))
            rec.on_turn(TurnRecord(label, "measure", t, int(start[-1] + dur[-1]), 5, int(dur.sum())))
    rec.on_event(RunEvent(T0 + 4_000_000_000, "run_end", "run complete"))
    rec.close("complete")
    return path


def _panel_text(app: InfbenchApp, label: str) -> str:
    panel = next(p for p in app.screen.query(BackendPanel) if p.label == label)
    return widget_text(app, panel)


def test_replay_shows_the_passes_at_the_instant(tmp_path: Path) -> None:
    path = _recorded(tmp_path / "wc.infb")
    app = InfbenchApp(data=open_session(path), session=path.name, start_s=2.45, playing=False)

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            scr: Any = app.screen
            await _until(pilot, lambda: scr.last_snapshot is not None, "a frame")
            await pilot.pause(0.2)
            text = _panel_text(app, "onnxruntime")
            assert "corpus" in text and "pass 2/2 · 50 %" in text, text  # 15 calls: one pass and a half
            assert "corpus" not in _panel_text(app, "null")  # a control runs no corpus
            scr.action_seek_to(1.45)
            await pilot.pause(0.2)
            assert "pass 1/2 · 50 %" in _panel_text(app, "onnxruntime")
            scr.action_seek_to(3.9)
            await pilot.pause(0.2)
            assert "2/2 passes ✓" in _panel_text(app, "onnxruntime")  # 25 calls: both passes done

    asyncio.run(drive())


def test_the_bar_fits_its_width_and_fills_with_the_passes() -> None:
    half = corpus_lines(CorpusProgress(1, 2, 0.5), 40)[0].plain
    assert len(half) <= 40 and half.startswith("corpus ▕") and half.endswith("pass 2/2 · 50 %")
    bar = half.split("▕")[1].split("▏")[0]
    assert bar.count("█") == round(len(bar) * 0.75)  # 1.5 of 2 passes
    narrow = corpus_lines(CorpusProgress(0, 3, 0.1), 20)[0].plain
    assert narrow == "corpus pass 1/3 · 10 %"
    assert corpus_lines(None, 40) == []


def test_the_form_s_corpus_and_batch_list_reach_the_plan(stub_live: type[StubLive]) -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.2)
            scr = app.screen
            assert scr.query_one("#corpus", Input).value == "none"
            scr.query_one("#corpus", Input).value = "builtin"
            scr.query_one("#batch", Input).value = "2,8"
            scr.query_one("#padding", Input).value = "fixed"
            scr.query_one("#whole_corpus", Input).value = "2"
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: bool(stub_live.started), "the run to start")

    asyncio.run(drive())
    plan = stub_live.started[0].plan
    wl = plan.workload
    assert (wl.corpus, wl.corpus_texts, wl.padding, wl.whole_corpus) == ("builtin", 1000, "fixed", 2)
    assert plan.labels == ["onnxruntime[batch=2]", "onnxruntime[batch=8]", "null"]


def test_a_bad_batch_in_the_form_names_the_field(stub_live: type[StubLive]) -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            scr = app.screen
            scr.query_one("#batch", Input).value = "4,0"
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
            error = scr.query_one("#error", Static)
            assert not stub_live.started and error.display
            assert "batch must be integers ≥ 1" in " ".join(widget_text(app, error).split())
            scr.query_one("#batch", Input).value = "4"
            scr.query_one("#corpus", Input).value = str(Path("/nonexistent/texts.txt"))
            await pilot.pause(0.1)
            assert error.display and "texts.txt" in " ".join(widget_text(app, error).split())
            scr.query_one("#corpus", Input).value = ""  # empty: no corpus
            await pilot.pause(0.1)
            assert not error.display

    asyncio.run(drive())


@pytest.mark.slow
def test_live_panel_counts_the_passes_until_done(tmp_path: Path) -> None:
    """A real live run over a 12-text corpus at batch 4 (3 calls a pass), 2 passes wanted: the panel's bar
    ends complete with the passes its measured calls make; the control's panel has none."""
    from tests.tui.test_live import _args as live_args
    from tests.tui.test_live import _until as live_until

    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(f"text number {i} in Berlin" for i in range(12)) + "\n")
    args = live_args(tmp_path / "live.infb", duration=0.3)
    args.batch, args.corpus, args.whole_corpus = 4, str(corpus), 2
    app = InfbenchApp(plan=plan_from_args(args), args=args, setup=False)
    seen: list[str] = []

    async def drive() -> None:
        async with app.run_test(size=(140, 44)) as pilot:
            await live_until(pilot, lambda: isinstance(app.screen, LiveScreen))
            live = app.screen

            def done() -> bool:
                if live.query(BackendPanel):
                    seen.append(_panel_text(app, "onnxruntime"))
                return "✓" in seen[-1] and "[final]" in seen[-1] if seen else False

            await live_until(pilot, done)
            assert "corpus" not in _panel_text(app, "null")
            await pilot.press("q")
            await live_until(pilot, lambda: app.return_value is not None)

    asyncio.run(drive())
    final = seen[-1]
    n = int(re.search(r"n=([0-9,]+)", final).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert n >= 6 and f"{n // 3} passes (≥ 2) ✓" in final or (n // 3 == 2 and "2/2 passes ✓" in final), final
