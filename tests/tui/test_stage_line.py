"""The backend panel of a variant with call parts shows where its time goes, from the live store and from the
session file alike, up to the instant shown; other panels show no stage line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np

from infbench.analysis.stages import variant_stages
from infbench.records import BackendInfo, SampleBlock
from infbench.report.stages import stage_line
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore
from infbench.tui.app import InfbenchApp
from infbench.tui.widgets.backend_panel import BackendPanel
from tests.tui.screen import widget_text

T0 = 10**12
MS = 1_000_000
SIZE = (150, 46)


def _record(path: Path) -> LiveStore:
    """3 s of a pipeline variant whose inference gets slower after 1 s, and a plain variant, recorded."""
    store, rec = LiveStore(), Recorder(path)
    plan = {
        "model": "bert-tiny",
        "backends": [{"label": "pipeline", "backend": "pipeline"}, {"label": "torch", "backend": "torch"}],
        "workload": {"batch": 1},
    }
    for x in (store, rec):
        x.on_start(plan, {}, T0, 0.0)
        for label in ("pipeline", "torch"):
            x.on_backend(BackendInfo(label, label, {}, status="done", load_ms=10.0, first_inference_ms=5.0))
    k = np.arange(300)
    start = T0 + k * 10 * MS
    tok = np.full(300, MS, np.int64)
    inf = np.where(k < 100, 4 * MS, 7 * MS).astype(np.int64)
    post = np.full(300, MS // 2, np.int64)
    blocks = [
        SampleBlock(
            "pipeline",
            "measure",
            start[i : i + 30],
            (tok + inf + post)[i : i + 30],
            np.zeros(30, np.int32),
            {"tokenize": tok[i : i + 30], "infer": inf[i : i + 30], "post": post[i : i + 30]},
        )
        for i in range(0, 300, 30)
    ] + [SampleBlock("torch", "measure", start + MS, inf, np.zeros(300, np.int32))]
    for b in blocks:
        store.on_samples(b)
        rec.on_samples(b)
    store.on_finish("complete")
    rec.close("complete")
    return store


async def _until(pilot, cond, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def _panel_texts(data, start_s: float) -> dict[str, str]:
    app = InfbenchApp(data=data, session="stages", start_s=start_s, playing=False)
    texts: dict[str, str] = {}

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await _until(pilot, lambda: scr.last_snapshot is not None and scr.ticks > 2, "a frame")
            for panel in app.query(BackendPanel):
                await _until(pilot, lambda p=panel: "n=" in widget_text(app, p), "the panel's statistics")
                texts[panel.label] = " ".join(widget_text(app, panel).split())

    asyncio.run(drive())
    return texts


def test_panel_stage_line_live_store_and_session_file_alike(tmp_path: Path) -> None:
    store = _record(tmp_path / "s.infb")
    early = variant_stages(store, "pipeline", T0 + int(1.0e9) + 1)
    assert early is not None and early.part("infer").median_ms == 4.0
    expected = stage_line(early)
    with open_session(tmp_path / "s.infb") as reader:
        for data in (store, reader):
            texts = _panel_texts(data, 1.0)
            assert "stages " + expected in texts["pipeline"], texts["pipeline"]
            assert "tokenize" not in texts["torch"]
    late = _panel_texts(store, 3.1)["pipeline"]
    assert "infer 7.00 ms" in late and "infer 4.00 ms" not in late  # the median moved with the instant
