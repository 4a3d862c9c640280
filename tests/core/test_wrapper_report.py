"""A headless run of the direct engines next to their Optimum wrappers, through the real CLI and real children:
both wrappers load and run on bert-tiny and state what ran, and the report has the wrapper-overhead section
(Rich, Markdown from the saved session, JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infbench", *args],
        capture_output=True,
        text=True,
        timeout=400,
        env=dict(os.environ, COLUMNS="200"),
        check=False,
    )


def test_headless_run_shows_the_wrapper_overhead_of_both_wrappers(tmp_path: Path) -> None:
    out, save = tmp_path / "out.json", tmp_path / "run.infb"
    proc = _cli(
        "run",
        "bert-tiny",
        "-b",
        "onnxruntime",
        "-b",
        "optimum-ort",
        "-b",
        "openvino",
        "-b",
        "ov-optimum",  # an alias
        "--seq",
        "32",
        "--threads",
        "1",
        "-d",
        "0.5",
        "-n",
        "20",
        "--warmup",
        "3",
        "--headless",
        "--json",
        str(out),
        "--save",
        str(save),
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    backends = data["backends"]
    assert set(backends) == {"onnxruntime", "optimum-ort", "openvino", "optimum-ov"}
    for label, wraps, cls in (
        ("optimum-ort", "onnxruntime", "ORTModelForTokenClassification"),
        ("optimum-ov", "openvino", "OVModelForTokenClassification"),
    ):
        b = backends[label]
        assert b["status"] == "ok" and b["iterations"] >= 20, b
        assert b["details"]["wraps"] == wraps and b["details"]["wrapper"].endswith(cls)
        assert b["precision"] == "f32" and b["details"]["threads"] == 1 and b["model_file_mb"] > 1.0
        assert b["parity"]["reference"] == "onnxruntime"  # the direct engine outranks its wrapper
        assert b["parity"]["max_abs"] < 1e-4
    pairs = {w["wrapper"]: w for w in data["wrapper_overhead"]}
    assert {k: (v["direct"], v["io"], v["same_config"]) for k, v in pairs.items()} == {
        "optimum-ort": ("onnxruntime", "bound", True),
        "optimum-ov": ("openvino", "bound", True),
    }
    for w in pairs.values():
        lo, hi = w["median_ratio_ci95"]
        assert w["median_ratio"] > 0 and lo <= w["median_ratio"] <= hi
    assert "Wrapper overhead" in proc.stdout
    assert "optimum-ort / onnxruntime (io=bound)  ×" in proc.stdout
    assert "optimum-ov / openvino (io=bound)  ×" in proc.stdout
    default = backends["optimum-ov"]["details"].get("default_precision")
    if default:  # the wrapper's own default (bf16 on this kind of CPU) is noted, as for the direct engine
        assert any(n.startswith("optimum-ov ran f32") and default in n for n in data["notes"])

    md = _cli("report", str(save), "--format", "md", "--bootstrap", "100")
    assert md.returncode == 0, md.stderr
    assert "### Wrapper overhead" in md.stdout
    assert "- optimum-ort / onnxruntime (io=bound)  ×" in md.stdout
