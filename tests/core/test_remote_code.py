"""A local model directory asking for remote code is refused before anything starts, whichever engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infbench.engines.models import prepare_model


@pytest.fixture(scope="module")
def remote_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bert-tiny's HF directory with a config.json that maps its class to code shipped beside it."""
    tiny = prepare_model("bert-tiny", need_onnx=False, need_hf=True)
    remote = tmp_path_factory.mktemp("remote") / "remote-model"
    shutil.copytree(str(tiny.hf_dir), remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModelForTokenClassification": "modeling_evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    (remote / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
    return remote


@pytest.mark.parametrize(
    "backend, extra",
    [
        ("torch", []),
        ("onnxruntime", []),
        ("optimum-ort", []),
        ("optimum-ov", []),
        ("pipeline", ["--corpus", "builtin"]),
        ("ov-genai", ["--task", "generate"]),
    ],
)
def test_every_engine_refuses_remote_code_in_one_line_before_spawning(
    remote_dir: Path, backend: str, extra: list[str], tmp_path: Path
) -> None:
    session = tmp_path / "run.infb"
    proc = subprocess.run(
        [sys.executable, "-m", "infbench", "run", str(remote_dir), "-b", backend, "--headless"]
        + extra
        + ["--save", str(session)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, INFBENCH_ENGINE_PLUGINS=""),
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "asks for remote code" in lines[0]
        and "AutoModelForTokenClassification" in lines[0]
    )
    assert "Traceback" not in proc.stderr and not session.exists()
