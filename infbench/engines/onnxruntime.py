"""ONNX Runtime engine: one InferenceSession, `session.run` per call."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles

OPTIONS = ("threads", "inter_threads", "execution_mode", "graph_opt", "providers", "device")
_SHORT = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
}
_GRAPH_OPT = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
_MODES = {"sequential": ort.ExecutionMode.ORT_SEQUENTIAL, "parallel": ort.ExecutionMode.ORT_PARALLEL}
_DEVICES = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EngineLoadError(f"onnxruntime option {key}={value!r}: must be a positive integer")
    return value


def _choice(key: str, value: Any, table: dict[str, Any]) -> Any:
    if str(value).lower() not in table:
        raise EngineLoadError(f"onnxruntime option {key}={value!r}: choose from {', '.join(table)}")
    return table[str(value).lower()]


def provider_names(value: Any) -> list[str]:
    """Full EP names from a list or comma string of short (cpu, cuda, tensorrt, openvino) or full names."""
    items = value.split(",") if isinstance(value, str) else list(value)
    known = {p.lower(): p for p in ort.get_all_providers()}
    out = []
    for item in (str(x).strip() for x in items):
        name = _SHORT.get(item.lower()) or known.get(item.lower())
        if name is None:
            raise EngineLoadError(
                f"onnxruntime provider {item!r} unknown: use {', '.join(sorted(set(_SHORT)))} "
                "or a full name like CUDAExecutionProvider"
            )
        out.append(name)
    return out


class OnnxRuntimeEngine(Engine):
    """ONNX Runtime InferenceSession on the model's ONNX file.

    Options: ``threads`` (intra-op), ``inter_threads``, ``execution_mode`` (sequential|parallel), ``graph_opt``
    (disable|basic|extended|all), ``providers`` (list or comma string; cpu|cuda|tensorrt|openvino or full EP
    names), ``device`` (cpu|cuda, a shortcut for providers). Unset options keep ONNX Runtime's defaults.
    """

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Create the session; requested providers that this build lacks fall back and mark it degraded."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise EngineLoadError(
                f"unknown onnxruntime option(s) {', '.join(unknown)}: valid are {', '.join(OPTIONS)}"
            )
        if not model.onnx_path:
            raise EngineLoadError(f"onnxruntime needs an ONNX file and model {model.name} has none")
        so = ort.SessionOptions()
        if "threads" in options:
            so.intra_op_num_threads = _positive_int("threads", options["threads"])
        if "inter_threads" in options:
            so.inter_op_num_threads = _positive_int("inter_threads", options["inter_threads"])
        if "execution_mode" in options:
            so.execution_mode = _choice("execution_mode", options["execution_mode"], _MODES)
        if "graph_opt" in options:
            so.graph_optimization_level = _choice("graph_opt", options["graph_opt"], _GRAPH_OPT)
        so.log_severity_level = 3  # errors only: fallback warnings are reported as `degraded` instead
        requested = ["CPUExecutionProvider"]
        if "device" in options:
            requested = list(_choice("device", options["device"], _DEVICES))
        if "providers" in options:
            requested = provider_names(options["providers"])
        available = ort.get_available_providers()
        usable = [p for p in requested if p in available] or ["CPUExecutionProvider"]
        self.mark_phase("compile")  # reading the file, graph optimisation and kernel setup happen in here
        try:
            self.session = ort.InferenceSession(model.onnx_path, sess_options=so, providers=usable)
        except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, …)
            raise EngineLoadError(
                f"onnxruntime cannot load {model.onnx_path}: {str(exc).splitlines()[0]}"
            ) from exc
        used = self.session.get_providers()
        degraded = [f"requested {p}, running on {', '.join(used)}" for p in requested if p not in used]
        self.input_names = [i.name for i in self.session.get_inputs()]
        return LoadResult(
            providers=list(used),
            degraded=degraded,
            versions={"onnxruntime": ort.__version__},
            details={
                "requested_providers": requested,
                "intra_op_num_threads": so.intra_op_num_threads,
                "inter_op_num_threads": so.inter_op_num_threads,
                "graph_opt": str(options.get("graph_opt", "all")),
                "execution_mode": str(options.get("execution_mode", "sequential")),
            },
        )

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Keep the session's inputs, as contiguous arrays."""
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"inputs lack {', '.join(missing)} required by the ONNX model")
        return {n: np.ascontiguousarray(inputs[n]) for n in self.input_names}

    def run(self, prepared: dict[str, np.ndarray]) -> list[Any]:
        """One `session.run` returning every output."""
        return self.session.run(None, prepared)

    def first_output(self, result: list[Any]) -> np.ndarray:
        """The first output as float32."""
        return np.asarray(result[0], dtype=np.float32)

    def close(self) -> None:
        """Drop the session."""
        self.session = None
