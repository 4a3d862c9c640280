"""``io=bound`` and ``io=copy`` on the direct engines (real ONNX Runtime and OpenVINO on bert-tiny): same outputs,
each call runs the input it is given, and the details say which path and precision ran."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.engines.base import Engine, LoadResult, ModelFiles
from infbench.engines.host import EngineHost
from infbench.engines.registry import engine_info, load_engine_class
from infbench.engines.workloads import build_inputs
from infbench.plan.spec import WorkloadSpec

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

ENGINES = {"onnxruntime": {"threads": 1}, "openvino": {"threads": 1, "hint": "latency"}}


def _load(name: str, model: ModelFiles, options: dict) -> tuple[Engine, LoadResult]:
    info = engine_info(name)
    engine = load_engine_class(name)()
    return engine, engine.load(model, info.options.resolve(info.name, options))


@pytest.fixture(scope="module")
def inputs(tiny: ModelFiles) -> list[dict[str, np.ndarray]]:
    items = build_inputs(tiny, WorkloadSpec(batch=2, seq=20, seq_dist="uniform:3-20", seed=11, cycle=4)).items
    padded = {k: v.copy() for k, v in items[0].items()}
    padded["attention_mask"][0, 2:] = 0
    return [*items, padded]


def _interleaved(engine: Engine, inputs: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
    """Outputs of each input, run in a cycle as the worker does (each prepared once, then revisited)."""
    prepared = [engine.prepare_inputs(x) for x in inputs]
    outs: dict[int, np.ndarray] = {}
    for idx in [0, 1, 2, 1, 3, 4, 0, 4, 2, 3]:
        got = engine.first_output(engine.run(prepared[idx]))
        if idx in outs:  # a revisited input gives the same output: the call ran the input it was given
            np.testing.assert_array_equal(got, outs[idx])
        outs[idx] = got
    return [outs[i] for i in range(len(inputs))]


@pytest.mark.parametrize("name", list(ENGINES))
def test_bound_and_copy_give_identical_outputs(tiny, inputs, name):
    results = {}
    for io in ("bound", "copy"):
        engine, loaded = _load(name, tiny, {**ENGINES[name], "io": io})
        assert loaded.details["io"] == io and loaded.details["precision"] == "f32"
        assert loaded.details["quant"] == "none" and loaded.details["model_file_mb"] > 0
        results[io] = _interleaved(engine, inputs)
        engine.close()
    for item, bound, copied in zip(inputs, results["bound"], results["copy"]):
        assert bound.shape == (*item["input_ids"].shape, 9)
        np.testing.assert_array_equal(bound, copied)
    assert not np.array_equal(results["bound"][1][:, :3], results["bound"][2][:, :3])


@pytest.mark.parametrize("name", list(ENGINES))
def test_io_defaults_to_bound(tiny, name):
    engine, loaded = _load(name, tiny, dict(ENGINES[name]))
    assert loaded.details["io"] == "bound" and engine.bound
    engine.close()


def test_openvino_states_the_precision_it_ran_and_the_device_default(tiny):
    engine, loaded = _load("openvino", tiny, {"threads": 1})
    d = loaded.details
    assert d["precision"] == "f32" == d["inference_precision"] and isinstance(d["threads"], int)
    default = d["device_default_precision"]
    assert default in ("f32", "bf16", "f16")
    # the device default is named as such only where infbench forced something else
    assert d.get("default_precision") == (default if default != "f32" else None)
    engine.close()
    engine, loaded = _load("openvino", tiny, {"threads": 1, "precision": "default"})
    assert loaded.details["precision"] == default and "default_precision" not in loaded.details
    assert loaded.degraded == []
    engine.close()


def test_bound_io_through_a_child_matches_copy(tiny, inputs):
    outputs = {}
    for io in ("bound", "copy"):
        host = EngineHost(
            f"ort-{io}", "onnxruntime", {"threads": 1, "io": io}, tiny, inputs, lambda b: None, lambda e: None
        )
        try:
            host.start()
            assert host.loaded["details"]["io"] == io
            assert host.run_turn("measure", calls=12).calls == 12
            outputs[io] = host.output
        finally:
            host.stop()
    np.testing.assert_array_equal(outputs["bound"], outputs["copy"])
