"""`infbench-tui run --headless` through the real CLI: JSON contract, exit codes, and every bad-input case."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infbench import cli

LATENCY_KEYS = {"mean", "median", "p90", "p95", "p99", "p999", "min", "max", "std", "cv", "median_ci95", "p99_ci95"}


def cli_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infbench", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, COLUMNS="200"), check=False)


def sessions() -> list[Path]:
    return sorted(Path(os.environ["INFBENCH_DATA_DIR"]).rglob("*.infb"))


def test_headless_json_contract_and_exit_zero(tmp_path):
    out, csv = tmp_path / "out.json", tmp_path / "out.csv"
    save = tmp_path / "run.infb"
    proc = cli_run("run", "bert-tiny", "-b", "ort", "-b", "null", "--seq", "32", "-d", "0.5", "-n", "20", "--aa",
                   "--headless", "--json", str(out), "--csv", str(csv), "--save", str(save))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    assert set(data["backends"]) == {"onnxruntime", "null", "onnxruntime#aa"}
    comparison = data["analysis"]["comparison"]
    assert comparison["threshold_source"] == "aa" and comparison["aa"]["b"] == "onnxruntime#aa"
    assert comparison["threshold"] == pytest.approx(max(comparison["aa"]["noise_band"], 0.002))
    assert set(comparison["rows"]) == {"onnxruntime"}  # the twin measures noise; null is a control
    assert "onnxruntime#aa" not in data["winners"].values()
    assert set(data["analysis"]["backends"]["onnxruntime"]) >= {"spikes", "shifts", "warnings", "warmup_end_s"}
    ort = data["backends"]["onnxruntime"]
    assert ort["status"] == "ok" and ort["error"] is None
    assert set(ort["latency_ms"]) >= LATENCY_KEYS
    lo, hi = ort["latency_ms"]["median_ci95"]
    assert lo <= ort["latency_ms"]["median"] <= hi
    assert ort["throughput_per_s"] > 0 and ort["iterations"] >= 20
    assert set(ort["cold_start"]) == {"load_ms", "first_inference_ms"}
    assert set(ort["memory_mb"]) == {"rss_after_load", "rss_peak"}
    assert ort["model_size_mb"] > 0
    assert data["plan"]["model"] == "bert-tiny" and data["system"]
    assert save.exists() and "onnxruntime" in csv.read_text()
    assert "median" in proc.stdout  # the results table


def test_degraded_backend_exits_one(tmp_path):
    out = tmp_path / "o.json"
    proc = cli_run("run", "bert-tiny", "-b", "ort:device=cuda", "--seq", "16", "-d", "0.3", "-n", "5",
                   "--headless", "--json", str(out), "--no-monitors")
    assert proc.returncode == 1, proc.stderr
    b = json.loads(out.read_text())["backends"]["onnxruntime"]
    assert b["status"] == "degraded"


def test_failed_backend_exits_one_and_others_are_measured(tmp_path):
    out = tmp_path / "o.json"
    proc = cli_run("run", "bert-tiny", "-b", "abort:after=30", "-b", "null", "-d", "0.3", "-n", "5",
                   "--headless", "--json", str(out), "--no-monitors")
    assert proc.returncode == 1
    data = json.loads(out.read_text())["backends"]
    assert data["abort"]["status"] == "failed" and "SIGABRT" in data["abort"]["error"]
    assert data["null"]["status"] == "ok"


def _bad(args: list[str], capsys, word: str, code: int = 2) -> None:
    before = sessions()
    rc = cli.main(args)
    err = capsys.readouterr().err
    assert rc == code, err
    errors = [x for x in err.splitlines() if "error" in x.lower()]  # progress lines (model build) may precede
    assert len(errors) == 1 and errors[0].startswith("infbench-tui: error: "), err
    assert "Traceback" not in err and word.lower() in errors[0].lower(), err
    assert sessions() == before  # nothing recorded


def test_missing_and_corrupt_model_files(tmp_path, capsys):
    _bad(["run", str(tmp_path / "nope.onnx"), "-b", "ort", "--headless"], capsys, "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    _bad(["run", str(bad), "-b", "ort", "--headless"], capsys, "not a valid ONNX model")
    _bad(["run", "bert-nonexistent", "-b", "ort", "--headless"], capsys, "bert-nonexistent")


def test_unknown_and_uninstalled_backends(capsys, monkeypatch):
    _bad(["run", "bert-tiny", "-b", "tensorflow", "--headless"], capsys, "unknown backend")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "openvino" else real(n, *a))
    _bad(["run", "bert-tiny", "-b", "ov", "--headless"], capsys, "pip install openvino")


@pytest.mark.parametrize("args, word", [
    (["-d", "0"], "--duration"), (["-d", "-3"], "--duration"), (["-n", "0"], "--iterations"),
    (["--batch", "0"], "--batch"), (["--seq", "100000"], "seq"), (["--warmup", "ten"], "--warmup"),
    (["--threads", "0"], "--threads"), (["--seq-dist", "zipf"], "--seq-dist"),
    (["--json", "/nonexistent-dir/x.json"], "does not exist"), (["--save", __file__], "already exists"), (["-b", "ort:threads"], "key=value"),
])
def test_bad_arguments_are_one_line_exit_two(args, word, capsys):
    _bad(["run", "bert-tiny", "-b", "ort", "--headless", *args], capsys, word)


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--batch", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--batch" in err
