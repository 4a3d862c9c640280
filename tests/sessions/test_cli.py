"""`report`, `export` and `compare` on the fixture session and on sessions with a known difference."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from infbench.cli import main
from infbench.commands.compare import parse_threshold
from infbench.records import BackendInfo, SampleBlock
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder
from tests.sessions.synth import T0, plan_dict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sessions" / "small.infb"


def test_report_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", str(FIXTURE), "--format", "json", "--bootstrap", "100"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert set(rep["backends"]) == {"onnxruntime", "openvino", "torch"}
    assert rep["backends"]["torch"]["status"] == "degraded" and rep["winners"]["median"] == "openvino"
    assert rep["outcome"] == "complete" and any(e["kind"] == "spike" for e in rep["events"])
    assert main(["report", str(FIXTURE), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["backend"] for r in rows] == ["onnxruntime", "openvino", "torch"]
    assert main(["report", str(FIXTURE), "--format", "md"]) == 0
    assert "| backend |" in capsys.readouterr().out
    assert main(["report", str(FIXTURE), "-o", str(tmp_path / "r.txt")]) == 0
    text = (tmp_path / "r.txt").read_text()
    assert "degraded" in text and "throttle_on" in text


def test_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    assert main(["export", str(FIXTURE), "--format", "csv", "--what", "samples", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    with open_session(FIXTURE) as r:
        start, dur = r.samples("torch")
        assert sum(r.metadata["samples"].values()) == len(rows)
    torch = [x for x in rows if x["backend"] == "torch"]
    assert [int(x["start_ns"]) for x in torch] == start.tolist()
    assert [int(x["dur_ns"]) for x in torch] == dur.tolist()
    assert float(torch[0]["latency_ms"]) == pytest.approx(dur[0] / 1e6)
    assert main(["export", str(FIXTURE), "--format", "json", "--what", "monitors", "-o", "-"]) == 0
    mon = json.loads(capsys.readouterr().out)
    assert {m["metric"] for m in mon} >= {"cpu.util.total", "cpu.model"} and mon[0]["t_s"] == 0.0
    assert main(["export", str(FIXTURE), "--format", "csv", "--what", "events"]) == 0
    assert capsys.readouterr().out.startswith("t_ns,t_s,kind,backend,message,data")
    assert (
        main(
            [
                "export",
                str(FIXTURE),
                "--format",
                "json",
                "--what",
                "samples",
                "--backend",
                "torch",
                "--phase",
                "warmup",
            ]
        )
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)) == 5


def _session(path: Path, medians: dict[str, float], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    rec = Recorder(path)
    rec.on_start(plan_dict(list(medians)), {}, T0, 0.0)
    for label, med in medians.items():
        rec.on_backend(BackendInfo(label, "null", {}, status="done"))
        dur = (med * rng.lognormal(0, 0.05, 3000)).astype(np.int64)
        start = T0 + np.cumsum(dur + 1000)
        rec.on_samples(SampleBlock(label, "measure", start, dur, np.zeros(3000, np.int32)))
    rec.close("complete")
    return path


def test_compare_verdicts_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _session(tmp_path / "a.infb", {"x": 1e6, "y": 1e6}, 1)
    b = _session(tmp_path / "b.infb", {"x": 1.2e6, "y": 1e6}, 2)
    c = _session(tmp_path / "c.infb", {"x": 0.8e6, "y": 1.01e6, "z": 1e6}, 3)
    assert main(["compare", str(a), str(b), "--format", "json", "--bootstrap", "200"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["backends"]["x"]["verdict"] == "slower" and res["backends"]["x"]["median_ratio"] > 1.15
    assert res["backends"]["y"]["verdict"] == "no significant difference"
    assert main(["compare", str(a), str(b), "--backend", "y", "--bootstrap", "200"]) == 0
    assert main(["compare", str(a), str(c), "--threshold", "5%", "--bootstrap", "200"]) == 0
    out = capsys.readouterr().out
    assert "faster" in out and "only in B: z" in out
    assert main(["compare", str(a), str(b), "--threshold", "30%", "--bootstrap", "200"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "A", "B", "--threshold", "5"],
        ["compare", "A", "B", "--threshold", "abc"],
        ["compare", "A", "B", "--threshold", "-1%"],
    ],
)
def test_compare_bad_threshold(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_compare_bad_args(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tmp_path / "nope.infb"), str(FIXTURE)]) == 2
    assert main(["compare", str(FIXTURE), str(FIXTURE), "--backend", "nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 2
    assert (
        parse_threshold("5%") == 0.05
        and parse_threshold("0.05") == 0.05
        and parse_threshold("2.5 %") == 0.025
    )


def test_export_backend_takes_aliases_like_run(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["export", str(FIXTURE), "--format", "json", "--what", "samples", "--phase", "warmup"]
    assert main([*base, "--backend", "openvino"]) == 0
    by_label = json.loads(capsys.readouterr().out)
    assert by_label and {r["backend"] for r in by_label} == {"openvino"}
    assert main([*base, "--backend", "ov"]) == 0
    assert json.loads(capsys.readouterr().out) == by_label
    assert main([*base, "--backend", "ort", "--backend", "onnxruntime", "--backend", "pt"]) == 0
    assert {r["backend"] for r in json.loads(capsys.readouterr().out)} == {"onnxruntime", "torch"}


def test_export_unknown_backend_lists_the_valid_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(FIXTURE), "--backend", "trt"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert (
        "--backend trt" in captured.err
        and "onnxruntime (ort), openvino (ov), torch (transformers/pytorch/pt)" in captured.err
    )
    assert main(["export", str(FIXTURE), "--what", "events", "--backend", "ort"]) == 2
    assert "--backend selects samples" in capsys.readouterr().err
