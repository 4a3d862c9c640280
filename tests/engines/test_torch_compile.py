"""``torch:compile=true``: the option rules (checked before anything starts), the compile inside the load, and a
real headless run of eager vs compiled torch on bert-tiny that agrees and records the compile."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from infbench import cli
from infbench.engines.base import EngineLoadError, ModelFiles
from infbench.engines.options import Option, OptionSchema
from infbench.engines.registry import engine_info
from infbench.errors import ConfigError


def _stored_details(path: Path) -> dict[str, dict]:
    """Label → the load details as the session file stores them (its latest backend row per label)."""
    from infbench.sessions.schema import loads

    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT label, info FROM backends ORDER BY id").fetchall()
    return {str(label): dict(loads(info).get("details") or {}) for label, info in rows}


def _sessions() -> list[Path]:
    return sorted(Path(os.environ["INFBENCH_DATA_DIR"]).rglob("*.infb"))


def test_mode_is_accepted_only_with_compile_true() -> None:
    schema = engine_info("torch").options
    assert schema.validate("torch", {"compile": "true", "mode": "max-autotune"}) == {
        "compile": True,
        "mode": "max-autotune",
    }
    assert schema.resolve("torch", {})["compile"] is False
    for raw in ({"mode": "max-autotune"}, {"compile": "false", "mode": "default"}):
        with pytest.raises(ConfigError) as exc:
            schema.validate("torch", raw, where="--backend torch:…")
        text = str(exc.value)
        assert "\n" not in text and text.startswith("--backend torch:…: mode needs compile=true"), text


def test_only_with_must_name_an_option_of_the_schema() -> None:
    with pytest.raises(ValueError, match="not an option here"):
        OptionSchema((Option("mode", "choice", "m", choices=("a",), only_with={"compile": True}),))
    schema = OptionSchema(
        (
            Option("compile", "bool", "c", default=True),
            Option("mode", "choice", "m", choices=("a",), only_with={"compile": True}),
        )
    )
    assert schema.validate("x", {"mode": "a"}) == {"mode": "a"}  # the default satisfies it


@pytest.mark.parametrize(
    "backend, word",
    [
        ("torch:mode=max-autotune", "mode needs compile=true"),
        ("torch:compile=maybe", "compile must be true or false"),
        ("torch:compile=true,mode=fastest", "mode must be one of default, reduce-overhead"),
    ],
)
def test_bad_compile_options_fail_before_spawn(backend: str, word: str, capsys, monkeypatch) -> None:
    from infbench.engines.host import EngineHost

    def no_spawn(self: EngineHost) -> None:
        raise AssertionError(f"{self.label} was spawned")

    monkeypatch.setattr(EngineHost, "start", no_spawn)
    before = _sessions()
    rc = cli.main(["run", "bert-tiny", "-b", backend, "--headless", "--no-monitors"])
    err = capsys.readouterr().err
    errors = [x for x in err.splitlines() if "error" in x.lower()]  # model-build progress lines may precede
    assert rc == 2, err
    assert len(errors) == 1 and errors[0].startswith("infbench-tui: error: "), err
    assert word in errors[0] and "Traceback" not in err, err
    assert _sessions() == before


def test_no_cxx_compiler_is_one_clear_line(tiny: ModelFiles, monkeypatch) -> None:
    pytest.importorskip("torch")
    from infbench.engines.torch import TorchEngine

    monkeypatch.setenv("CXX", "/nonexistent/g++")
    options = engine_info("torch").options.resolve("torch", {"compile": True, "threads": 1})
    with pytest.raises(EngineLoadError) as exc:
        TorchEngine().load(tiny, options)
    text = str(exc.value)
    assert "\n" not in text and "needs a C++ compiler" in text and "/nonexistent/g++" in text


def test_the_warmup_input_is_the_workload_input_when_given(tiny: ModelFiles) -> None:
    from infbench.engines._torchcompile import warmup_input

    given = {spec.name: np.ones((2, 16), np.int64) for spec in tiny.inputs}
    assert warmup_input(tiny, given) == (given, "workload input")
    synthetic, source = warmup_input(tiny, None)
    seq = min(128, int(tiny.extra.get("max_positions") or 128))
    assert source == f"synthetic 1x{seq}"
    assert set(synthetic) == {s.name for s in tiny.inputs}
    assert all(a.shape == (1, seq) for a in synthetic.values())


def test_inductor_cache_goes_under_the_model_cache_unless_the_user_chose_one(monkeypatch, tmp_path) -> None:
    pytest.importorskip("torch")
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    from infbench.engines._torchcompile import use_cache_dir
    from infbench.engines.models import cache_root

    ours = str(cache_root() / "torchinductor")
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    assert use_cache_dir() == ours == os.environ["TORCHINDUCTOR_CACHE_DIR"]
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())  # pinned by an earlier model load
    assert use_cache_dir() == ours
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    assert use_cache_dir() == str(tmp_path)


@pytest.mark.slow
def test_compiled_torch_runs_headless_agrees_with_eager_and_records_the_compile(tmp_path: Path) -> None:
    """One compiled case only: inductor's cold start takes ~30 s on 2 cores."""
    pytest.importorskip("torch")
    from infbench.sessions.reader import SessionReader

    out, save = tmp_path / "out.json", tmp_path / "run.infb"
    args = ["bert-tiny", "-b", "torch", "-b", "torch:compile=true", "--seq", "16", "--threads", "1"]
    args += ["-d", "1", "-n", "10", "--headless", "--no-monitors", "--json", str(out), "--save", str(save)]
    proc = subprocess.run(
        [sys.executable, "-m", "infbench", "run", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, COLUMNS="200"),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    backends = json.loads(out.read_text())["backends"]
    (compiled,) = [label for label in backends if label != "torch"]
    eager, comp = backends["torch"], backends[compiled]
    assert eager["status"] == "ok" and comp["status"] == "ok", (eager, comp)
    assert comp["iterations"] >= 10
    assert comp["parity"]["reference"] == "torch" and comp["parity"]["max_abs"] <= 1e-3
    stored = _stored_details(save)
    details = stored[compiled]
    assert details["compile"] is True and details["mode"] == "default"
    assert details["compile_ms"] > 0 and details["precision"] == "f32" and details["model_file_mb"] > 0
    assert details["compile_graphs"] >= 1
    assert stored["torch"]["compile"] is False and "compile_ms" not in stored["torch"]
    if "details" in comp:  # the JSON report carries the same load details where it has them
        assert comp["details"]["compile_ms"] == details["compile_ms"]
    with SessionReader(save) as reader:
        phases = {
            event.backend: list(event.data["load_phases"])
            for event in reader.events()
            if event.kind == "status" and event.data and "load_phases" in event.data
        }
    assert phases[compiled] == ["start", "import", "read", "compile", "first inference"]
    assert phases["torch"] == ["start", "import", "read", "first inference"]
    # the compile is cold start: the load that held it took at least the compiling call
    assert comp["cold_start"]["load_ms"] >= details["compile_ms"]
