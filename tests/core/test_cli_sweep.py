"""`infbench-tui sweep --headless` through the real CLI: JSON contract, session file, and bad grids."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


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
    ],
)
def test_bad_grid_is_one_line_exit_two(args, needle, tmp_path):
    proc = cli_run("sweep", "bert-tiny", *args, "--headless", "--save", str(tmp_path / "x.infb"), timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.infb").exists()


