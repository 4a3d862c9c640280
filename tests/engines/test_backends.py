"""The real engines in-process on bert-tiny: load, run, agree with each other, reject bad options."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.registry import engine_info, load_engine_class
from infbench.engines.workloads import build_inputs
from infbench.errors import ConfigError
from infbench.plan.spec import WorkloadSpec

ort = pytest.importorskip("onnxruntime")
ov = pytest.importorskip("openvino")
torch = pytest.importorskip("torch")

BASE_OPTIONS = {
    "onnxruntime": {"threads": 1},
    "openvino": {"threads": 1, "hint": "latency"},
    "torch": {"threads": 1},
}


def _load(engine: Engine, name: str, model: ModelFiles, options: dict) -> LoadResult:
    """Load as the worker does: options validated, typed and defaulted by the engine's schema first."""
    info = engine_info(name)
    return engine.load(model, info.options.resolve(info.name, options))


@pytest.fixture(scope="module")
def inputs(tiny: ModelFiles) -> list[dict[str, np.ndarray]]:
    items = build_inputs(tiny, WorkloadSpec(batch=2, seq=24, seq_dist="uniform:5-24", seed=3, cycle=3)).items
    padded = {k: v.copy() for k, v in items[0].items()}
    padded["attention_mask"][1, padded["attention_mask"].shape[1] // 2 :] = 0  # a padded row must agree too
    return [*items, padded]


@pytest.fixture(scope="module")
def outputs(tiny: ModelFiles, inputs: list[dict[str, np.ndarray]]) -> dict[str, list[np.ndarray]]:
    out = {}
    for name, options in BASE_OPTIONS.items():
        engine = load_engine_class(name)()
        result = _load(engine, name, tiny, dict(options))
        assert result.degraded == [] and result.providers and result.versions
        prepared = [engine.prepare_inputs(x) for x in inputs]
        runs = [engine.first_output(engine.run(p)) for p in prepared]
        # first_output must survive later calls (OpenVINO reuses its output buffers)
        engine.run(prepared[-1])
        out[name] = runs
        engine.close()
    return out


def test_every_backend_runs_and_outputs_agree(outputs, inputs):
    for name, runs in outputs.items():
        for got, item in zip(runs, inputs):
            assert got.dtype == np.float32 and got.shape == (*item["input_ids"].shape, 9), name
    for name in ("onnxruntime", "openvino"):
        diff = max(float(np.abs(a - b).max()) for a, b in zip(outputs[name], outputs["torch"]))
        assert diff < 1e-3, f"{name} vs torch: max abs {diff}"


def test_torch_module_name_does_not_shadow_torch(tiny):
    import infbench.engines.torch as engine_module

    engine = load_engine_class("torch")()
    _load(engine, "torch", tiny, {"threads": 1})
    assert engine._torch is torch and engine._torch.__file__ != engine_module.__file__


def test_ort_cuda_request_falls_back_and_is_degraded(tiny):
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime build has CUDA")
    engine = load_engine_class("ort")()
    for options in ({"device": "cuda"}, {"providers": "cuda,cpu"}, {"providers": "cuda+cpu"}):
        result = _load(engine, "ort", tiny, options)
        assert result.providers == ["CPUExecutionProvider"]
        assert result.degraded == ["requested CUDAExecutionProvider, running on CPUExecutionProvider"]


def test_ort_options_are_applied(tiny):
    engine = load_engine_class("onnxruntime")()
    result = _load(
        engine,
        "onnxruntime",
        tiny,
        {
            "threads": 1,
            "inter_threads": 1,
            "execution_mode": "parallel",
            "graph_opt": "basic",
            "providers": ["CPUExecutionProvider"],
        },
    )
    assert result.degraded == [] and result.details["intra_op_num_threads"] == 1


@pytest.mark.parametrize(
    "backend, options, match",
    [
        (
            "onnxruntime",
            {"bogus": 1},
            "unknown option 'bogus' for onnxruntime: valid are threads, inter_threads",
        ),
        ("onnxruntime", {"threads": 0}, "threads must be an integer ≥ 1, got 0"),
        ("onnxruntime", {"graph_opt": "max"}, "one of disable, basic, extended, all"),
        ("onnxruntime", {"execution_mode": "async"}, "one of sequential, parallel"),
        (
            "onnxruntime",
            {"providers": "quantum"},
            "each item of providers must be one of CPUExecutionProvider",
        ),
        ("onnxruntime", {"device": "tpu"}, "one of cpu, cuda"),
        (
            "openvino",
            {"streams": 1, "turbo": True},
            "unknown option 'turbo' for openvino: valid are device, hint",
        ),
        ("openvino", {"hint": "fast"}, "one of latency, throughput, none"),
        ("openvino", {"device": "TPU"}, "one of CPU, GPU, NPU, AUTO"),
        ("openvino", {"precision": "f8"}, "one of f32, bf16"),
        (
            "torch",
            {"thread": 2},
            "unknown option 'thread' for torch: valid are threads, inter_threads, device",
        ),
        ("torch", {"threads": "many"}, "must be an integer ≥ 1"),
        ("torch", {"device": "tpu"}, "one of cpu, cuda"),
    ],
)
def test_bad_options_are_refused_by_the_schema(backend, options, match):
    """Refused in the parent, by the engine's declared schema, before any child starts (and in one line)."""
    with pytest.raises(ConfigError, match=match) as info:
        engine_info(backend).options.resolve(backend, options)
    assert "\n" not in str(info.value)


def test_openvino_absent_device_names_the_available_ones(tiny):
    available = ov.Core().available_devices
    absent = [d for d in ("NPU", "GPU") if not any(a.startswith(d) for a in available)]
    if not absent:
        pytest.skip("every device is present")
    with pytest.raises(EngineLoadError, match=f"device {absent[0]} is not available here: available are"):
        _load(load_engine_class("openvino")(), "openvino", tiny, {"device": absent[0]})


def test_torch_cuda_unavailable_is_a_load_error(tiny):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.raises(EngineLoadError, match="CUDA is not available"):
        _load(load_engine_class("torch")(), "torch", tiny, {"device": "cuda"})


def test_engines_refuse_a_model_without_their_files(tiny):
    no_onnx = ModelFiles("x", "hf", None, tiny.hf_dir, tiny.inputs)
    for backend in ("onnxruntime", "openvino"):
        with pytest.raises(EngineLoadError, match="needs an ONNX file"):
            _load(load_engine_class(backend)(), backend, no_onnx, {})
    with pytest.raises(EngineLoadError, match="needs a Hugging Face model directory"):
        _load(
            load_engine_class("torch")(),
            "torch",
            ModelFiles("x", "onnx", tiny.onnx_path, None, tiny.inputs),
            {},
        )
