"""fp32 vs INT8 through the real CLI on the built-in bert-tiny: the quantized variant is judged by label agreement
(--min-agreement), not by --parity-tol; below the floor it is degraded (exit 1), above it ok; the table and the
JSON state its precision, its size on disk and its speed-up over the fp32 variant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infbench.engines.registry import engine_info

F32, INT8 = "onnxruntime", "onnxruntime[quant=int8]"

pytestmark = pytest.mark.skipif(
    engine_info("onnxruntime").options.get("quant") is None,
    reason="ort:quant=int8 (ONNX Runtime dynamic INT8) is not in this tree yet",
)


def _cli(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "infbench", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, COLUMNS="250"),
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _run(tmp_path: Path, name: str, min_agreement: str) -> tuple[subprocess.CompletedProcess, dict]:
    out, save = tmp_path / f"{name}.json", tmp_path / f"{name}.infb"
    proc = _cli(
        *("run", "bert-tiny", "-b", "ort", "-b", "ort:quant=int8", "--threads", "1", "--batch", "2"),
        *(
            "--seq",
            "128",
            "-d",
            "0.4",
            "-n",
            "10",
            "-w",
            "2",
            "--no-monitors",
            "--min-agreement",
            min_agreement,
        ),
        *("--headless", "--json", str(out), "--save", str(save)),
    )
    return proc, json.loads(out.read_text())


def test_int8_is_judged_by_agreement_degraded_below_the_floor_ok_above(tmp_path: Path) -> None:
    proc, data = _run(tmp_path, "floor0", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    f32, q = data["backends"][F32], data["backends"][INT8]
    assert f32["status"] == q["status"] == "ok"
    assert f32["precision"] == "f32" and q["precision"] == "int8"
    assert q["parity"]["reference"] == F32 and q["parity"]["rule"] == "agreement"
    assert f32["parity"]["rule"] == "tolerance" and f32["parity"]["agreement"] == 1.0
    agreement = q["parity"]["agreement"]
    # INT8 rounds: its outputs are off by more than --parity-tol, yet it is ok (judged by agreement)
    assert q["parity"]["max_abs"] > 1e-3 and 0.5 < agreement < 1.0
    assert q["size_on_disk_mb"] < 0.6 * f32["size_on_disk_mb"]  # INT8 weights: about a quarter of fp32's
    assert q["speedup"]["reference"] == F32 and q["speedup"]["ratio"] > 0
    lo, hi = q["speedup"]["ci95"]
    assert lo <= q["speedup"]["ratio"] <= hi
    row = next(line for line in proc.stdout.splitlines() if line.strip().startswith(INT8))
    assert "int8" in row and f"vs {F32}" in row
    # the report of the saved session states the same: precision, size, accuracy and speed-up are stored
    replayed = json.loads(_cli("report", str(tmp_path / "floor0.infb"), "--format", "json").stdout)
    again = replayed["backends"][INT8]
    for key in ("precision", "size_on_disk_mb", "model_file_mb", "parity", "status"):
        assert again[key] == q[key], key
    assert again["speedup"]["ratio"] == pytest.approx(q["speedup"]["ratio"])

    floor = f"{min(100.0, 100 * agreement + 0.01):.2f}"  # just above what it reached
    proc, data = _run(tmp_path, "above", floor)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    q = data["backends"][INT8]
    assert q["parity"]["agreement"] == agreement  # same model, inputs and quantization: the same labels
    assert q["status"] == "degraded" and data["backends"][F32]["status"] == "ok"
    reason = q["degraded_reasons"][-1]
    assert (
        reason.startswith("label agreement ") and f"< --min-agreement {float(floor):g} % vs {F32}" in reason
    )
    assert "label agreement" in proc.stdout
