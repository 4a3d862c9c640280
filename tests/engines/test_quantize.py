"""Quantized variants on bert-tiny with the real libraries: ONNX Runtime dynamic INT8, OpenVINO NNCF INT8,
their cache, what they report, and options refused before anything starts."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from infbench.engines import quantize
from infbench.engines.base import Engine, LoadResult, ModelFiles
from infbench.engines.host import EngineHost
from infbench.engines.options import Option, OptionSchema
from infbench.engines.registry import engine_info, load_engine_class
from infbench.engines.workloads import build_inputs
from infbench.errors import ConfigError
from infbench.plan.build import backend_specs
from infbench.plan.spec import WorkloadSpec

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")
HAS_NNCF = importlib.util.find_spec("nncf") is not None


def _load(engine: Engine, name: str, model: ModelFiles, options: dict) -> LoadResult:
    """Load as the worker does: options validated, typed and defaulted by the engine's schema first."""
    info = engine_info(name)
    return engine.load(model, info.options.resolve(info.name, options))


def _outputs(
    name: str, model: ModelFiles, options: dict, inputs: list
) -> tuple[LoadResult, list[np.ndarray]]:
    engine = load_engine_class(name)()
    result = _load(engine, name, model, options)
    outs = [engine.first_output(engine.run(engine.prepare_inputs(x))) for x in inputs]
    engine.close()
    return result, outs


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def inputs(tiny: ModelFiles) -> list[dict[str, np.ndarray]]:
    return build_inputs(tiny, WorkloadSpec(batch=2, seq=16, seq_dist="uniform:4-16", seed=5, cycle=3)).items


@pytest.fixture(scope="module")
def ort_fp32(tiny, inputs) -> tuple[LoadResult, list[np.ndarray]]:
    return _outputs("onnxruntime", tiny, {"threads": 1}, inputs)


def test_ort_int8_runs_smaller_and_close_to_fp32_then_reuses_its_cache(tiny, inputs, ort_fp32, cache_dir):
    fp32, ref = ort_fp32
    assert fp32.details["quant"] == "none" and fp32.details["precision"] == "f32"
    first, got = _outputs("onnxruntime", tiny, {"threads": 1, "quant": "int8"}, inputs)
    d = first.details
    assert d["quant"] == "int8" and d["precision"] == "int8" and d["threads"] == 1
    assert 0 < d["model_file_mb"] < fp32.details["model_file_mb"] * 0.6, (d, fp32.details)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and np.isfinite(a).all()
        assert _cosine(a, b) > 0.9
    assert not all(np.array_equal(a, b) for a, b in zip(got, ref))  # it is not the fp32 model
    built = Path(quantize.artefact_dir("ort-int8", tiny.onnx_path, d["quant_settings"])) / "model.onnx"
    assert built.is_file() and Path(cache_dir).resolve() in built.resolve().parents
    mtime = built.stat().st_mtime_ns
    again, got2 = _outputs("onnxruntime", tiny, {"threads": 1, "quant": "int8"}, inputs)
    assert again.details["quant_cache"] == "reused" and built.stat().st_mtime_ns == mtime
    for a, b in zip(got, got2):
        np.testing.assert_array_equal(a, b)


def test_cache_key_follows_the_source_file_and_the_settings(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(b"x" * 10)
    key = quantize.cache_key(src, {"a": 1})
    assert key == quantize.cache_key(src, {"a": 1}) and key != quantize.cache_key(src, {"a": 2})
    src.write_bytes(b"x" * 11)
    assert quantize.cache_key(src, {"a": 1}) != key
    os.utime(src, ns=(1, 1))
    assert len({key, quantize.cache_key(src, {"a": 1})}) == 2


def test_a_failed_build_leaves_nothing_and_says_why(tiny, tmp_path):
    def broken(src: Path, tmp: Path) -> None:
        (tmp / "half.onnx").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        quantize.cached("test-broken", tiny.onnx_path, {"v": 1}, "model.onnx", broken)
    root = quantize.artefact_dir("test-broken", tiny.onnx_path, {"v": 1})
    assert not root.exists() and not any(p.name.startswith(".tmp-") for p in root.parent.iterdir())


def test_ort_int8_in_a_child_marks_its_quantize_phase(tiny, inputs):
    host = EngineHost(
        "ort-int8",
        "onnxruntime",
        {"quant": "int8", "threads": 1},
        tiny,
        inputs,
        lambda b: None,
        lambda e: None,
    )
    try:
        host.start()
        phases = [name for name, _t in host.phases]
        assert phases.index("quantize") < phases.index("compile") < phases.index("first inference")
        assert host.loaded["details"]["quant"] == "int8" and host.output is not None
        assert host.run_turn("measure", calls=5).calls == 5
    finally:
        host.stop()


def test_random_calibration_follows_the_input_specs(tiny):
    items = quantize.random_calibration(tiny.inputs, tiny.vocab_size, n=3, seq=7)
    assert len(items) == 3
    for item in items:
        assert set(item) == {s.name for s in tiny.inputs}
        assert item["input_ids"].shape == (1, 7) and item["input_ids"].dtype == np.int64
        assert item["input_ids"].min() >= 0 and item["input_ids"].max() < tiny.vocab_size
        assert (item["attention_mask"] == 1).all()
    assert not np.array_equal(items[0]["input_ids"], items[1]["input_ids"])


@pytest.mark.skipif(not HAS_NNCF, reason="nncf is not installed")
@pytest.mark.parametrize("quant", ["int8-weights", "int8"])
def test_ov_nncf_variants_run_close_to_fp32_and_are_cached(tiny, inputs, ort_fp32, quant):
    _fp32, ref = ort_fp32
    first, got = _outputs("openvino", tiny, {"threads": 1, "quant": quant}, inputs)
    d = first.details
    assert d["quant"] == quant and d["quant_cache"] == "built" and d["model_file_mb"] > 0
    assert d["precision"] == ("int8" if quant == "int8" else "f32")
    if quant == "int8":
        assert d["calibration"].startswith("random token ids")
    for a, b in zip(got, ref):
        assert a.shape == b.shape and _cosine(a, b) > 0.9
    again, _ = _outputs("openvino", tiny, {"threads": 1, "quant": quant}, inputs[:1])
    assert again.details["quant_cache"] == "reused"


@pytest.mark.skipif(not HAS_NNCF, reason="nncf is not installed")
def test_ov_int8_calibrates_on_the_inputs_it_is_given(tiny, inputs):
    engine = load_engine_class("openvino")()
    engine.workload_inputs = inputs
    result = _load(engine, "openvino", tiny, {"threads": 1, "quant": "int8"})
    assert result.details["calibration"] == f"workload inputs ({len(inputs)})"
    assert np.isfinite(engine.first_output(engine.run(engine.prepare_inputs(inputs[0])))).all()


def _args(**kw) -> argparse.Namespace:
    base = {"model": "bert-tiny", "threads": None, "inter_threads": None, "device": None, "aa": False}
    return argparse.Namespace(backend=None, **{**base, **kw})


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("ort:quant=int4", "quant must be one of none, int8"),
        ("ov:quant=int4", "quant must be one of none, int8-weights, int8"),
        ("ov:io=zero", "io must be one of bound, copy"),
        ("ort:io=zero", "io must be one of bound, copy"),
    ],
)
def test_bad_quant_and_io_values_fail_in_plan_building(backend, expected):
    with pytest.raises(ConfigError) as err:
        backend_specs(_args(), [backend])
    text = str(err.value)
    assert "\n" not in text and expected in text and text.startswith(f"--backend {backend}")


def test_good_values_make_labelled_variants():
    specs = backend_specs(_args(), ["ort", "ort:quant=int8", "ov:io=copy"])
    assert [s.options.get("quant") for s in specs] == [None, "int8", None]
    assert len({s.label for s in specs}) == 3


def test_ov_quant_without_nncf_fails_in_plan_building_naming_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a)
    )
    for quant in ("int8", "int8-weights"):
        with pytest.raises(ConfigError) as err:
            backend_specs(_args(), [f"ov:quant={quant}"])
        text = str(err.value)
        assert "\n" not in text and f"quant={quant} needs nncf" in text and "pip install nncf" in text
    assert backend_specs(_args(), ["ov:quant=none"])  # only the values that need it


def test_an_option_value_requirement_is_checked_only_for_that_value():
    schema = OptionSchema(
        (Option("q", "choice", "q", choices=("a", "b"), requires={"b": ("infbench_no_such_module_xyz",)}),)
    )
    assert schema.validate("e", {"q": "a"}) == {"q": "a"}
    with pytest.raises(ConfigError, match="e q=b needs infbench_no_such_module_xyz"):
        schema.validate("e", {"q": "B"})
