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
    found = analyze_session(store, results).findings["a"]
    steps = [s for s in found.shifts if s.ratio > 1.3]
    assert len(steps) == 1
    # 25 s of 1 s blocks at 2 ms per call → the step is at 25 s of calls ≈ 25 s after t=0
    assert steps[0].t_s is not None and abs(steps[0].t_s - 25.0) < 0.5
    assert steps[0].attribution is not None
    assert steps[0].attribution["verdict"] == "unexplained"  # no monitor saw anything


def test_cause_text_does_not_repeat_the_verdict():
    assert (
        cause_text({"verdict": "contention", "evidence": ["contention: yes (pid 1) at 99% CPU"]})
        == "contention: yes (pid 1) at 99% CPU"
    )
    assert cause_text({"verdict": "thermal", "evidence": ["CPU temp 95 °C"]}) == "thermal: CPU temp 95 °C"
    assert cause_text(None) == "unexplained"


def _stopped_session(path: Path) -> Path:
    from infbench.records import RunEvent
    from tests.core.session_maker import Backend, make_session

    backends = {"onnxruntime": Backend(), "openvino": Backend(engine="openvino", status="stopped")}
    stop = RunEvent(T0 + 5_000_000_000, "status", "openvino stopped by the user", "openvino")
    return make_session(path, backends, events=[stop])


def test_a_backend_stopped_by_the_user_is_reported_stopped(tmp_path, capsys):
    path = _stopped_session(tmp_path / "s.infb")
    assert cli.main(["report", str(path), "--format", "json", "--bootstrap", "50"]) == 0
    data = json.loads(capsys.readouterr().out)
    ov = data["backends"]["openvino"]
    assert ov["status"] == "stopped" and "stopped by the user" in ov["error"] and ov["latency_ms"]
    assert data["backends"]["onnxruntime"]["status"] == "ok"
    assert cli.main(["report", str(path), "--format", "md", "--bootstrap", "50"]) == 0
    assert (
        "| stopped: stopped by the user (x in the live TUI) after its measured calls |"
        in capsys.readouterr().out
    )
    assert cli.main(["report", str(path), "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "stopped openvino: stopped by the user" in " ".join(out.split())


def test_an_interrupted_runs_unmeasured_backend_is_not_started(tmp_path, capsys):
    from tests.core.session_maker import Backend, make_session

    backends = {"onnxruntime": Backend(), "torch": Backend(engine="torch", median_ms=None, status="stopped")}
    path = make_session(tmp_path / "i.infb", backends, outcome="interrupted")
    assert cli.main(["report", str(path), "--format", "json", "--bootstrap", "50"]) == 0
    torch = json.loads(capsys.readouterr().out)["backends"]["torch"]
    assert torch["status"] == "not started" and torch["error"] == "run interrupted before it was measured"
    assert cli.main(["report", str(path), "--format", "md", "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "not started: run interrupted" in out and "no measured samples" not in out
    # the same backend in a complete run that finished without a call is a failure
    backends["torch"] = Backend(engine="torch", median_ms=None, status="done")
    path = make_session(tmp_path / "c.infb", backends)
    assert cli.main(["report", str(path), "--format", "json", "--bootstrap", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["backends"]["torch"]["status"] == "failed"


def test_aa_with_a_single_backend_shows_the_noise_band(tmp_path, capsys, monkeypatch):
    from tests.core.session_maker import Backend, make_session

    twin = Backend(roles=("aa-twin",), twin_of="onnxruntime")  # what `run --aa` gives its twin
    path = make_session(tmp_path / "aa.infb", {"onnxruntime": Backend(), "onnxruntime#aa": twin})
    assert cli.main(["report", str(path), "--format", "json", "--bootstrap", "50"]) == 0
    comp = json.loads(capsys.readouterr().out)["analysis"]["comparison"]
    aa = comp["aa"]
    assert comp["threshold_source"] == "aa" and list(comp["rows"]) == ["onnxruntime"]
    assert aa["b"] == "onnxruntime#aa" and {"p99_ratio", "p99_ratio_ci95", "p_value"} <= set(aa)
    band = f"±{100 * aa['noise_band']:.1f} % (measured by A/A)"
    lo, hi = aa["median_ratio_ci95"]
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["report", str(path), "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    section = out[out.index("fair comparison vs the fastest") :]
    assert band in section and f"[{lo:.3f}–{hi:.3f}]" in section and "A/A twin" in section
    assert max(len(line) for line in section.splitlines()[:10]) <= 80
    assert cli.main(["report", str(path), "--format", "md", "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert f"### Fair comparison vs the fastest (noise band {band})" in out
    assert "| onnxruntime#aa | " in out and "A/A twin: sets the noise band (vs onnxruntime)" in out


def test_comparison_table_keeps_cis_whole_at_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["report", str(FIXTURE), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["analysis"]["comparison"]["rows"]
    assert cli.main(["report", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    section = out[out.index("fair comparison vs the fastest") :]
    for r in rows.values():
        for key in ("median_ratio_ci95", "p99_ratio_ci95"):
            assert f"[{r[key][0]:.3f}–{r[key][1]:.3f}]" in section
