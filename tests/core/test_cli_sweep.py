"""`infbench-tui sweep --headless` through the real CLI: JSON contract, session file, and bad grids."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from rich.console import Console

from infbench.commands.replay import print_sweep_of


def cli_run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infbench", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, COLUMNS="200"),
    )


def test_headless_sweep_json_and_session(tmp_path):
    out, save = tmp_path / "sweep.json", tmp_path / "sweep.infb"
    proc = cli_run(
        "sweep",
        "bert-tiny",
        "--backend",
        "onnxruntime",
        "--threads",
        "1,2",
        "--batch",
        "1,2",
        "-d",
        "0.3",
        "-n",
        "10",
        "--seq",
        "16",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
        "--save",
        str(save),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    sweep = data["sweep"]
    labels = [g["label"] for g in sweep["grid"]]
    assert labels[0] == "ort default" and sweep["default"] == "ort default"
    assert sorted(labels[1:]) == ["ort t1 b1", "ort t1 b2", "ort t2 b1", "ort t2 b2"]
    assert set(data["backends"]) == set(labels)
    assert all(b["status"] == "ok" for b in data["backends"].values())
    assert data["backends"]["ort t2 b2"]["options"] == {"threads": 2, "batch": 2}
    assert sweep["pareto"] and set(sweep["pareto"]) <= set(labels)
    rec = sweep["recommendation"]
    assert rec["label"] in labels and rec["metric"] == "median_ms" and rec["verdict"]
    assert data["plan"]["schedule"] == "interleaved"
    stored = data["plan"]["sweep"]  # the whole grid is in the plan, so a report of the session can redraw it
    assert stored["axes"] == {"onnxruntime": {"threads": [1, 2], "batch": [1, 2]}}
    assert stored["defaults"] == {"onnxruntime": "ort default"} and stored["objective"] == "latency"
    assert [p["label"] for p in stored["points"]] == labels
    assert save.exists() and save.stat().st_size > 0
    assert "recommended:" in proc.stdout and "Pareto set:" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-b", "ort", "--threads", "0,x"], "--threads"),
        (["-b", "ov", "--exec-mode", "parallel"], "--exec-mode"),
        (["-b", "ort"], "empty grid"),
        (["-b", "ort", "--batch", ","], "empty list"),
        (["-b", "ort", "--threads", "1,2,3,4,5,6,7,8,9", "--batch", "1,2,3,4,5,6,7,8"], "fewer values"),
        (["--threads", "1,2"], "--backend"),
        (["-b", "ort", "-b", "ort:threads=2", "--batch", "1,2"], "given twice"),
        (["-b", "ov", "-b", "null", "--exec-mode", "seq"], "none of openvino, null has this option"),
        (["-b", "torch", "--grid", "mode=default,max-autotune"], "mode needs compile=true"),
        (["-b", "ort", "-b", "ov", "--threads", "1,2,3,4,5,6,7,8", "--batch", "1,2,3,4"], "fewer values"),
        # values and flags are checked against the engines' declared option schemas
        (
            ["-b", "ort", "--graph-opt", "basic,fast"],
            "graph_opt must be one of disable, basic, extended, all",
        ),
        (["-b", "ov", "--hint", "fastest"], "--hint"),
        (["-b", "ort", "--batch", "1,0"], "--batch"),
        (["-b", "ort:thread=2", "--batch", "1,2"], "did you mean threads?"),
        (["-b", "ort:threads=2", "--threads", "1,2"], "also fixed"),
        (["-b", "orrt", "--threads", "1,2"], "unknown backend 'orrt'"),
        (["-b", "null", "--grid", "kep=all,100"], "did you mean keep?"),
        (["-b", "null", "--grid", "keep=all,0"], "keep must be"),
        (["-b", "ort", "--grid", "threads"], "OPTION=V1,V2"),
        (["-b", "ort", "--threads", "1,2", "--grid", "threads=4"], "give it once"),
    ],
)
def test_bad_grid_is_one_line_exit_two(args, needle, tmp_path):
    proc = cli_run("sweep", "bert-tiny", *args, "--headless", "--save", str(tmp_path / "x.infb"), timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.infb").exists()


def test_every_backend_given_is_swept(tmp_path):
    """`sweep -b ort -b ov --threads 1` used to run only OpenVINO: each backend gets its default and grid."""
    out = tmp_path / "sweep.json"
    proc = cli_run(
        "sweep",
        "bert-tiny",
        "-b",
        "ort",
        "-b",
        "ov",
        "--threads",
        "1",
        "-d",
        "0.2",
        "-n",
        "5",
        "--seq",
        "16",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
        "--save",
        str(tmp_path / "s.infb"),
    )
    assert proc.returncode == 0, proc.stderr
    sweep = json.loads(out.read_text())["sweep"]
    assert [(g["label"], g["backend"]) for g in sweep["grid"]] == [
        ("ort default", "onnxruntime"),
        ("ort t1", "onnxruntime"),
        ("ov default", "openvino"),
        ("ov t1", "openvino"),
    ]
    assert sweep["defaults"] == {"onnxruntime": "ort default", "openvino": "ov default"}
    assert set(sweep["by_backend"]) == {"onnxruntime", "openvino"}
    for backend, rec in sweep["by_backend"].items():
        assert rec["default_label"] == sweep["defaults"][backend]
        assert rec["label"] in {g["label"] for g in sweep["grid"] if g["backend"] == backend}
    rec = sweep["recommendation"]
    assert rec == sweep["by_backend"][next(g["backend"] for g in sweep["grid"] if g["label"] == rec["label"])]
    assert sweep["default"] == rec["default_label"]
    assert (
        "best onnxruntime:" in proc.stdout
        and "best openvino:" in proc.stdout
        and "recommended:" in proc.stdout
    )


def test_a_grid_flag_some_backends_lack_is_named(tmp_path):
    out = tmp_path / "sweep.json"
    proc = cli_run(
        "sweep",
        "bert-tiny",
        "-b",
        "null",
        "-b",
        "ort",
        "--threads",
        "1",
        "-d",
        "0.2",
        "-n",
        "5",
        "--seq",
        "16",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
        "--save",
        str(tmp_path / "s.infb"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "--threads: null has no such option, so it is swept without it" in proc.stderr
    labels = [g["label"] for g in json.loads(out.read_text())["sweep"]["grid"]]
    assert labels == ["null default", "ort default", "ort t1"]


def test_a_backend_without_grid_flags_keeps_its_fixed_options():
    from infbench.cli import build_parser
    from infbench.commands.sweep import sweep_plan

    parser, _ = build_parser()
    args = parser.parse_args(
        ["sweep", "bert-tiny", "-b", "ort", "-b", "ov:hint=latency", "--exec-mode", "seq,par"]
    )
    plan = sweep_plan(args)
    assert [(s.label, s.options) for s in plan.backends] == [
        ("ort seq", {"execution_mode": "sequential"}),
        ("ort par", {"execution_mode": "parallel"}),
        ("ov default", {}),
        ("ov lat", {"hint": "latency"}),
    ]
    assert plan.sweep.defaults == {"onnxruntime": "ort seq", "openvino": "ov default"}
    assert [g["backend"] for g in plan.sweep.points] == ["onnxruntime", "onnxruntime", "openvino", "openvino"]
    assert plan.sweep.fixed == {"onnxruntime": {}, "openvino": {"hint": "latency"}}


def _sweep_block(stdout: str) -> str:
    """The sweep's table, Pareto set and advice: from its title line to the recommendation."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("sweep bert-tiny"))
    end = next(i for i, line in enumerate(lines) if line.startswith("recommended:"))
    return "\n".join(lines[start : end + 1])


def test_report_of_a_sweep_session_prints_the_same_sweep(tmp_path):
    """The grid is stored in the session: `report` redraws the sweep table, Pareto set and recommendation."""
    save, out = tmp_path / "s.infb", tmp_path / "s.json"
    proc = cli_run(
        "sweep",
        "bert-tiny",
        "-b",
        "null",
        "-b",
        "ort",
        "--threads",
        "1,2",
        "-d",
        "0.5",
        "-n",
        "5",
        "--seq",
        "16",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
        "--save",
        str(save),
    )
    assert proc.returncode == 0, proc.stderr
    swept = _sweep_block(proc.stdout)
    assert "ort t1" in swept and "ort t2" in swept and "null default" in swept and "Pareto set:" in swept
    report = cli_run("report", str(save))
    assert report.returncode == 0, report.stderr
    assert _sweep_block(report.stdout) == swept
    as_json = cli_run("report", str(save), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["sweep"] == json.loads(out.read_text())["sweep"]
    md = cli_run("report", str(save), "--format", "md")
    assert md.returncode == 0 and "| configuration | options |" in md.stdout and "**recommended:" in md.stdout
    # `replay` prints the same sweep when its TUI closes, as the live sweep does (the TUI itself: tests/tui).
    printed = io.StringIO()
    print_sweep_of(str(save), Console(file=printed, width=80))
    assert _sweep_block(printed.getvalue()) == swept
