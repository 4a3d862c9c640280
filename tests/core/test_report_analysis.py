"""The analysis part of `report` on the recorded fixture session, and its pieces on planted data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from infbench import cli
from infbench.analysis.session_analysis import analyze_session, cause_text
from infbench.analysis.summary import backend_results
from infbench.records import SampleBlock
from infbench.sessions.store import LiveStore

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sessions" / "small.infb"
T0 = 10**12


def test_report_json_and_markdown_carry_the_analysis(capsys):
    assert cli.main(["report", str(FIXTURE), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    analysis = data["analysis"]
    assert set(analysis["backends"]) == set(data["backends"])
    rows = analysis["comparison"]["rows"]
    assert analysis["comparison"]["threshold_source"] == "default"
    assert sum(r["verdict"] == "baseline" for r in rows.values()) == 1
    assert cli.main(["report", str(FIXTURE), "--format", "md"]) == 0
    assert "### Fair comparison vs the fastest" in capsys.readouterr().out


def test_planted_step_is_reported_with_its_time():
    store = LiveStore()
    store.on_start({"backends": [{"backend": "onnxruntime", "label": "a", "options": {}}]}, {}, T0, 0.0)
    rng = np.random.default_rng(1)
    t = T0
    for second in range(40):
        dur = (rng.lognormal(0, 0.03, 500) * (2e6 if second < 25 else 3e6)).astype(np.int64)
        starts = t + np.concatenate([[0], np.cumsum(dur[:-1])])
        store.on_samples(SampleBlock("a", "measure", starts, dur, np.zeros(dur.size, np.int32)))
        t = int(starts[-1] + dur[-1])
    results = backend_results(store, n_boot=100)
    found = analyze_session(store, results)["backends"]["a"]
    steps = [s for s in found["shifts"] if s["ratio"] > 1.3]
    assert len(steps) == 1
    # 25 s of 1 s blocks at 2 ms per call → the step is at 25 s of calls ≈ 25 s after t=0
    assert abs(steps[0]["t_s"] - 25.0) < 0.5
    assert steps[0]["attribution"]["verdict"] == "unexplained"  # no monitor saw anything


def test_cause_text_does_not_repeat_the_verdict():
    assert cause_text({"verdict": "contention", "evidence": ["contention: yes (pid 1) at 99% CPU"]}) == \
        "contention: yes (pid 1) at 99% CPU"
    assert cause_text({"verdict": "thermal", "evidence": ["CPU temp 95 °C"]}) == "thermal: CPU temp 95 °C"
    assert cause_text(None) == "unexplained"
