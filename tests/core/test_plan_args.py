"""Default backends for a model (which can take it, which are left out and why), through the real CLI parser."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from infbench import cli
from infbench.engines import registry
from infbench.errors import ConfigError
from infbench.plan.build import default_backends, plan_from_args

CORE = ("onnxruntime", "openvino", "torch", "null")


@pytest.fixture
def core_only(monkeypatch):
    """The registry without the test plugins, and a switch to make packages look uninstalled."""
    monkeypatch.setattr(registry, "_targets", {k: v for k, v in registry._targets.items() if k in CORE})
    real = importlib.util.find_spec
    missing: set[str] = set()
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n in missing else real(n, *a))
    return missing


def _args(*argv: str):
    parser, _ = cli.build_parser()
    return parser.parse_args(["run", *argv])


def _onnx(tmp_path: Path) -> Path:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not parsed: only the suffix decides which backends can take it")
    return model


def test_onnx_file_leaves_torch_out_and_names_uninstalled_backends(tmp_path, core_only):
    core_only.add("openvino")
    notes: list[str] = []
    assert default_backends(str(_onnx(tmp_path)), notes) == ["onnxruntime"]
    assert notes == [
        (
            "torch left out: it needs a Hugging Face model directory, and m.onnx is an .onnx file "
            "(pass the model's HF directory to include it)"
        ),
        "openvino left out: not installed (cannot import openvino)",
    ]


def test_builtin_takes_every_installed_backend(core_only):
    notes: list[str] = []
    plan = plan_from_args(_args("bert-tiny"), notes=notes)
    assert [b.backend for b in plan.backends] == ["onnxruntime", "openvino", "torch"] and notes == []


def test_hf_directory_without_torch_cannot_reach_the_onnx_backends(tmp_path, core_only):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    (hf / "model.safetensors").write_bytes(b"x")
    core_only.update({"torch", "transformers"})
    with pytest.raises(
        ConfigError,
        match="no installed backend can take this model: onnxruntime left out: it "
        "runs an ONNX export of hf, and exporting needs torch and transformers",
    ):
        default_backends(str(hf))


def test_no_backend_for_the_model_is_one_line_exit_two(tmp_path, core_only, capsys):
    core_only.update({"onnxruntime", "openvino"})
    rc = cli.main(["run", str(_onnx(tmp_path)), "--headless"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(
        "infbench-tui: error: no installed backend can take this model: torch left out: it "
        "needs a Hugging Face model directory"
    )


def test_min_agreement_is_part_of_the_plan_and_stored_with_it():
    from infbench.plan.spec import DEFAULT_MIN_AGREEMENT, RunPlan

    assert plan_from_args(_args("bert-tiny", "-b", "null")).min_agreement == DEFAULT_MIN_AGREEMENT
    plan = plan_from_args(_args("bert-tiny", "-b", "null", "--min-agreement", "97.5"))
    assert plan.min_agreement == 97.5
    assert RunPlan.from_dict(json.loads(json.dumps(plan.to_dict()))).min_agreement == 97.5
    legacy = {k: v for k, v in plan.to_dict().items() if k != "min_agreement"}  # a session written before it
    assert RunPlan.from_dict(legacy).min_agreement == DEFAULT_MIN_AGREEMENT
    for edge in ("0", "100"):
        assert plan_from_args(
            _args("bert-tiny", "-b", "null", "--min-agreement", edge)
        ).min_agreement == float(edge)


@pytest.mark.parametrize("value", ["101", "-1", "nan"])
def test_min_agreement_out_of_range_is_one_line_exit_two(value, capsys):
    rc = cli.main(["run", "bert-tiny", "-b", "null", "--headless", "--min-agreement", value])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--min-agreement must be a percentage from 0 to 100, got {value}" in err
    with pytest.raises(ConfigError, match="--min-agreement must be a percentage from 0 to 100"):
        plan_from_args(_args("bert-tiny", "-b", "null", "--min-agreement", value))
