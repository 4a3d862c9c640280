"""The Optimum wrapper engines (`optimum-ort`, `optimum-ov`) on the real libraries, in process: Optimum's export
is cached (built once, then reused), the details state what ran, outputs match torch's, a directory asking for
remote code is refused in one line, a bad option fails before anything starts, and generate mode stamps one
token per decoding step with the same greedy tokens as transformers.

Runs through a real child (the headless CLI) are in tests/core/test_wrapper_report.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.registry import engine_info, load_engine_class

pytestmark = pytest.mark.slow
WRAPPERS = ("optimum-ort", "optimum-ov")
WRAPS = {"optimum-ort": "onnxruntime", "optimum-ov": "openvino"}


def _inputs(seq: int = 16, batch: int = 1, type_ids: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {
        "input_ids": rng.integers(0, 1000, (batch, seq), dtype=np.int64),
        "attention_mask": np.ones((batch, seq), dtype=np.int64),
    }
    if type_ids:
        out["token_type_ids"] = np.zeros((batch, seq), dtype=np.int64)
    return out


def _load(
    name: str, model: ModelFiles, options: dict | None = None, workload: dict | None = None
) -> tuple[Engine, LoadResult]:
    info = engine_info(name)
    cls = load_engine_class(name)
    cls.import_backend()
    engine = cls()
    phases: list[str] = []
    engine.phase_hook = phases.append
    engine.workload = dict(workload or {})
    result = engine.load(model, info.options.resolve(name, dict(options or {})))
    result.details["_phases"] = phases
    return engine, result


@pytest.fixture(scope="module")
def torch_logits(tiny: ModelFiles) -> np.ndarray:
    engine, _ = _load("torch", tiny, {"threads": 1})
    return engine.first_output(engine.run(engine.prepare_inputs(_inputs())))


@pytest.mark.parametrize("name", WRAPPERS)
def test_wrapper_exports_once_states_what_ran_and_matches_torch(
    name: str, tiny: ModelFiles, torch_logits: np.ndarray
) -> None:
    first, r1 = _load(name, tiny, {"threads": 1})
    d = r1.details
    assert d["_phases"] == ["read", "compile"]
    assert d["wraps"] == WRAPS[name] and d["mode"] == "forward"
    assert d["wrapper"].endswith("ForTokenClassification") and d["wrapper"].split()[0] in (
        "optimum-onnx",
        "optimum-intel",
    )
    assert d["precision"] == "f32" and d["threads"] == 1 and d["model_file_mb"] > 1.0
    assert d["export_cache"] in ("built", "reused") and Path(d["export_dir"]).is_dir()
    assert not r1.degraded
    out = first.first_output(first.run(first.prepare_inputs(_inputs())))
    assert out.dtype == np.float32 and out.shape == torch_logits.shape == (1, 16, 9)
    assert float(np.max(np.abs(out - torch_logits))) < 1e-4
    assert not first.emits_tokens()
    second, r2 = _load(name, tiny, {"threads": 1})  # a second load finds the export in the cache
    assert r2.details["export_cache"] == "reused" and r2.details["export_dir"] == d["export_dir"]
    again = second.first_output(second.run(second.prepare_inputs(_inputs())))
    np.testing.assert_array_equal(again, out)
    if name == "optimum-ov":
        assert d["performance_hint"] == "LATENCY" and d["streams"] == 1
        # the wrapper's own default is the device's: stated whenever it is not what ran
        default = d.get("device_default_precision")
        assert default in (None, "f32", "bf16", "f16")
        assert d.get("default_precision") == (default if default not in (None, "f32") else None)
    else:
        assert isinstance(d["io_binding"], bool)


def test_optimum_ov_bf16_is_a_variant_whose_precision_is_stated(tiny: ModelFiles) -> None:
    engine, result = _load("optimum-ov", tiny, {"precision": "bf16", "threads": 1})
    ran = result.details["precision"]
    if ran == "bf16":  # a CPU with bf16: what was asked ran
        assert not result.degraded
    else:  # otherwise the request fell back, and the variant says so
        assert result.degraded == [f"requested precision bf16, CPU runs {ran}"]
    out = engine.first_output(engine.run(engine.prepare_inputs(_inputs())))
    assert out.dtype == np.float32 and out.shape == (1, 16, 9)


@pytest.mark.parametrize("name", WRAPPERS)
def test_a_directory_asking_for_remote_code_is_refused_in_one_line(
    name: str, tiny: ModelFiles, tmp_path: Path
) -> None:
    remote = tmp_path / "remote-model"
    shutil.copytree(str(tiny.hf_dir), remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModelForTokenClassification": "modeling_evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    model = ModelFiles("remote-model", "hf", None, str(remote), tiny.inputs, task=tiny.task)
    with pytest.raises(EngineLoadError) as err:
        _load(name, model)
    text = str(err.value)
    assert "\n" not in text and "asks for remote code" in text and "AutoModelForTokenClassification" in text
    assert not (remote / "modeling_evil.py").exists()


@pytest.mark.parametrize(
    "name, arch, shape",
    [("optimum-ort", "BertForSequenceClassification", (1, 3)), ("optimum-ov", "BertModel", (1, 16, 32))],
)
def test_a_local_hf_directory_runs_with_its_own_task(
    name: str, arch: str, shape: tuple[int, ...], tmp_path: Path, cache_dir: str
) -> None:
    import torch
    import transformers

    from infbench.engines.models import prepare_model

    config = transformers.BertConfig(
        vocab_size=1000, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    config.num_labels = 3
    torch.manual_seed(0)
    reference = getattr(transformers, arch)(config).eval()
    reference.save_pretrained(str(tmp_path / "local-model"))
    model = prepare_model(str(tmp_path / "local-model"), need_onnx=False, need_hf=True)
    engine, result = _load(name, model, {"threads": 1})
    assert result.details["wrapper"].endswith(("ForSequenceClassification", "ForFeatureExtraction"))
    out = engine.first_output(engine.run(engine.prepare_inputs(_inputs())))
    with torch.inference_mode():
        expected = reference(**{k: torch.from_numpy(v) for k, v in _inputs().items()})[0].numpy()
    assert out.shape == expected.shape == shape
    assert float(np.max(np.abs(out - expected))) < 1e-4


@pytest.mark.parametrize(
    "backend, word",
    [
        ("optimum-ov:precision=int4", "precision must be one of f32, bf16, f16"),
        ("optimum-ort:threads=0", "threads"),
        ("ort-optimum:treads=1", "treads"),
    ],
)
def test_bad_options_fail_before_anything_starts(
    backend: str, word: str, capsys: pytest.CaptureFixture
) -> None:
    from infbench.cli import main

    assert main(["run", "bert-tiny", "-b", backend, "--headless", "-d", "0.3"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and word in err, err


@pytest.fixture(scope="module")
def gpt2_tiny(cache_dir: str) -> ModelFiles:
    from infbench.engines.models import prepare_model

    return prepare_model("gpt2-tiny", need_onnx=False, need_hf=True)


NEW_TOKENS = 5
GENERATE = {"task": "generate", "prompt_len": 8, "new_tokens": NEW_TOKENS, "batch": 2}


@pytest.fixture(scope="module")
def greedy_tokens(gpt2_tiny: ModelFiles) -> np.ndarray:
    """transformers' own greedy tokens for the prompt: the reference every wrapper must reproduce."""
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(str(gpt2_tiny.hf_dir), local_files_only=True)
    x = _inputs(seq=8, batch=2, type_ids=False)
    with torch.inference_mode():
        out = model.eval().generate(
            **{k: torch.from_numpy(v) for k, v in x.items()},
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=model.config.eos_token_id,
        )
    return out[:, 8:].numpy().astype(np.float32)


@pytest.mark.parametrize("name", WRAPPERS)
def test_generate_mode_stamps_each_new_token_and_decodes_greedily(
    name: str, gpt2_tiny: ModelFiles, greedy_tokens: np.ndarray
) -> None:
    engine, result = _load(name, gpt2_tiny, {"threads": 1}, workload=GENERATE)
    d = result.details
    assert d["mode"] == "generate" and d["new_tokens"] == NEW_TOKENS and d["use_cache"] is True
    assert d["wrapper"].endswith("ForCausalLM") and "-kv-" in Path(d["export_dir"]).name
    assert engine.emits_tokens()
    import time

    prepared = engine.prepare_inputs(_inputs(seq=8, batch=2, type_ids=False))
    for _call in range(2):
        t0 = time.perf_counter_ns()
        result_ = engine.run(prepared)
        t1 = time.perf_counter_ns()
        stamps = engine.take_tokens()
        assert stamps.dtype == np.int64 and stamps.shape == (NEW_TOKENS,)  # one per decoding step
        assert t0 < stamps[0] and np.all(np.diff(stamps) > 0) and stamps[-1] <= t1
        tokens = engine.first_output(result_)
        assert tokens.dtype == np.float32 and tokens.shape == (2, NEW_TOKENS)
        np.testing.assert_array_equal(tokens, greedy_tokens)
    assert engine.take_tokens().size == 0  # taken: nothing left for the next call
