"""Findings on inter-token latency: a throttle that slows decoding is an ITL step, attributed to the throttle,
in the report (session analysis) and live (the LiveAnalyzer's events), alike."""

from __future__ import annotations

import numpy as np

from infbench.analysis.generation import token_series
from infbench.analysis.itl_detection import boundaries, detect_itl, itl_calls
from infbench.analysis.summary import build_report
from infbench.run.live_analysis import LiveAnalyzer
from tests.analysis.gen_synth import BATCH, T0, THROTTLE_S, gen_run

S = 1_000_000_000


def test_the_gap_between_requests_is_not_decoding_time() -> None:
    # two requests of 3 steps; the second starts 100 ms after the first ended
    start = np.array([0, 200_000_000])
    stamps = np.array([10, 15, 20, 300, 305, 310]) * 1_000_000
    s = token_series(start, np.array([3, 3]), stamps, batch=BATCH)
    gs, gd = itl_calls(s)
    assert gs.tolist() == [10_000_000, 15_000_000, 300_000_000, 305_000_000]
    assert gd.tolist() == [5_000_000] * 4
    assert boundaries(s).tolist() == [20_000_000, 310_000_000]
    _episodes, status, _tracker = detect_itl(s)
    assert not status.active and status.calls == 4


def test_a_throttle_is_an_itl_step_in_the_report_with_its_cause() -> None:
    report = build_report(gen_run().store, n_boot=200)
    assert report.analysis is not None
    slow, fast = report.analysis.findings["slow"], report.analysis.findings["fast"]
    assert slow.series == fast.series == "itl"
    assert slow.detection is not None and slow.detection.active
    assert not fast.spikes and not fast.shifts
    (step,) = slow.shifts
    assert step.kind == "step" and abs(step.t_s - THROTTLE_S) < 1.0
    assert step.headline.startswith("sustained inter-token slowdown ×1.")
    assert step.attribution is not None and step.attribution["verdict"] == "thermal"
    assert report.to_json_dict()["analysis"]["backends"]["slow"]["series"] == "itl"


def test_live_detection_finds_the_same_itl_step_as_the_report() -> None:
    run = gen_run(finish=False)
    events: list = []
    live = LiveAnalyzer(run.store, events.append, interval_s=3600.0)  # its thread waits: passes made here
    live.on_start(run.store.plan, run.store.system, T0, run.store.t0_wall)
    live.step(final=False)
    live.on_finish("complete")  # the last pass, in its thread
    steps = [e for e in events if e.kind == "step"]
    assert [e.backend for e in steps] == ["slow"]
    assert "sustained inter-token slowdown" in steps[0].message and "thermal" in steps[0].message
    assert abs((steps[0].t_ns - T0) / S - THROTTLE_S) < 1.0
    assert steps[0].data["series"] == "itl"


def test_live_passes_as_blocks_arrive_find_what_the_report_finds() -> None:
    events: list = []
    state: dict = {}

    def tick(store) -> None:  # type: ignore[no-untyped-def]
        live = state.get("live")
        if live is None:
            live = state["live"] = LiveAnalyzer(store, events.append, interval_s=3600.0)
            live.on_start(store.plan, store.system, T0, store.t0_wall)
        live.step(final=False)  # a pass after every turn: gaps split across passes

    run = gen_run(each_block=tick)
    state["live"].on_finish("complete")
    report = build_report(run.store, n_boot=200)
    assert report.analysis is not None
    (step,) = report.analysis.findings["slow"].shifts
    live_steps = [e for e in events if e.kind in ("step", "spike", "drift")]
    assert [(e.backend, e.kind) for e in live_steps] == [("slow", "step")]
    assert live_steps[0].t_ns == step.fields["t_start_ns"]  # the same episode, to the nanosecond
    # the gap between two requests never counted as decoding time: no alarm on "fast"
    assert not report.analysis.findings["fast"].shifts
