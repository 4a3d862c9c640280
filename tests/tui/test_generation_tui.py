"""The live TUI and replay of a generate run: TTFT and ITL histograms and a tokens/s timeline in place of the
call-latency plots, the panel's TTFT/ITL line; the snapshot the same live (built as data arrives) and replayed
from the session file; an ordinary run's panels unchanged."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from infbench.sessions.reader import open_session
from infbench.tui.app import InfbenchApp
from infbench.tui.snapshot import SnapshotBuilder
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.generation import GenerationPlots, TokenRateTimeline
from infbench.tui.widgets.histogram import LatencyHistogram
from tests.analysis.gen_synth import BATCH, ITL_NS, TTFT_NS, gen_run
from tests.tui.screen import widget_text
from tests.tui.synthetic import synthetic_store

SIZE = (150, 46)
MS = 1_000_000


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("gen") / "gen.infb"
    run = gen_run(duration_s=6.0, throttle=False, path=path)
    return path, run


def test_snapshot_counts_itl_per_token_and_matches_the_report(session) -> None:
    path, run = session
    snap = SnapshotBuilder(run.store).build(None)
    by = {b.label: b for b in snap.backends}
    for label in ("fast", "slow"):
        g = by[label].generation
        assert g is not None and g.final  # the run ended: the report's exact quantiles
        assert int(g.itl_hist.sum()) == BATCH * sum(len(x) for x in run.gaps[label])
        assert int(g.ttft_hist.sum()) == g.requests == len(run.starts[label])
        assert g.ttft_q[0] == pytest.approx(TTFT_NS[label] / MS, rel=0.05)
        assert g.itl_q[0] == pytest.approx(ITL_NS[label] / MS, rel=0.05)
        assert np.nanmedian(g.tps) == pytest.approx(BATCH / (ITL_NS[label] / 1e9), rel=0.1)
    # a prefill run: no generation view
    assert all(b.generation is None for b in SnapshotBuilder(synthetic_store()).build(None).backends)


def test_live_and_replay_snapshots_agree_at_every_instant(session) -> None:
    path, run = session
    t0 = run.store.t0_ns
    live = SnapshotBuilder(run.store)
    with open_session(path) as reader:
        replay = SnapshotBuilder(reader)
        for t_s in (1.0, 2.5, 4.0):  # increasing instants, each built incrementally
            a = {b.label: b.generation for b in live.build(t0 + int(t_s * 1e9)).backends}
            b = {b.label: b.generation for b in replay.build(t0 + int(t_s * 1e9)).backends}
            for label in ("fast", "slow"):
                assert a[label] is not None and b[label] is not None
                assert a[label].requests == b[label].requests > 0
                assert np.array_equal(a[label].itl_hist, b[label].itl_hist)
                assert np.array_equal(a[label].tps, b[label].tps, equal_nan=True)
        whole = SnapshotBuilder(run.store).build(t0 + int(4.0 * 1e9))  # in one go: the same
        assert np.array_equal(whole.backends[0].generation.ttft_hist, a["fast"].ttft_hist)


async def _until(pilot, cond, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def test_replay_panels_show_ttft_itl_and_tokens_per_second(session) -> None:
    path, _run = session
    app = InfbenchApp(data=open_session(path), session=path.name, start_s=5.9, playing=False)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            panels = {p.label: p for p in app.screen.query(BackendPanel)}
            await _until(pilot, lambda: all(p.query(GenerationPlots) for p in panels.values()), "the plots")
            await pilot.pause(0.3)
            for panel in panels.values():
                plots = panel.query_one(GenerationPlots)
                assert plots.display
                # the call-latency plots give way; the panel's own histogram is hidden
                assert not panel.query_one(".plots > LatencyHistogram").display
                text = widget_text(app, panel)
                assert "TTFT" in text and "ITL p99" in text and "decode" in text
                assert "time to first token" in text and "inter-token latency" in text
                assert "decode tokens/s" in widget_text(app, plots.query_one(TokenRateTimeline))
                ttft = plots.query_one("#gen-ttft", LatencyHistogram)
                drawn = widget_text(app, ttft)
                assert "▲" in drawn and "ms" in drawn.splitlines()[-1]  # the quantiles marked, the range said

    asyncio.run(drive())


def test_an_ordinary_run_mounts_no_generation_plots() -> None:
    app = InfbenchApp(data=synthetic_store(), session="synthetic", start_s=5.0, playing=False)

    async def drive() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            assert not app.screen.query(GenerationPlots)
            assert all(h.display for h in app.screen.query(LatencyHistogram))

    asyncio.run(drive())


def test_the_live_build_as_blocks_arrive_equals_the_replay(tmp_path: Path) -> None:
    """The live path (`build(None)` on a store that grows, skipping a backend whose count did not move) folds
    the same requests as a replay of the recorded file at the same instants."""
    ticks: list[tuple[int, dict]] = []
    builders: dict[str, SnapshotBuilder] = {}

    def tick(store) -> None:  # type: ignore[no-untyped-def]
        live = builders.setdefault("live", SnapshotBuilder(store, inline_final=False))
        ticks.append((store.end_ns(), {b.label: b.generation for b in live.build(None).backends}))

    path = tmp_path / "g.infb"
    gen_run(duration_s=4.0, throttle=False, path=path, each_block=tick)
    checked = 0
    with open_session(path) as reader:
        replay = SnapshotBuilder(reader)
        for end, got in ticks:
            for b in replay.build(end).backends:
                mine = got[b.label]
                if b.generation is None:
                    assert mine is None
                    continue
                assert mine is not None and mine.requests == b.generation.requests
                assert np.array_equal(mine.itl_hist, b.generation.itl_hist)
                assert np.array_equal(mine.tps, b.generation.tps, equal_nan=True)
                checked += 1
    assert checked >= 20
