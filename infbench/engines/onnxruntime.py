"""ONNX Runtime engine: one InferenceSession, `session.run` per call."""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

# Execution providers onnxruntime knows (`onnxruntime.get_all_providers()`), and short names for them.
_PROVIDERS = (
    "CPUExecutionProvider",
    "CUDAExecutionProvider",
    "TensorrtExecutionProvider",
    "OpenVINOExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "ROCMExecutionProvider",
    "MIGraphXExecutionProvider",
    "DnnlExecutionProvider",
    "VitisAIExecutionProvider",
    "QNNExecutionProvider",
    "NnapiExecutionProvider",
    "VSINPUExecutionProvider",
    "JsExecutionProvider",
    "RknpuExecutionProvider",
    "WebNNExecutionProvider",
    "WebGpuExecutionProvider",
    "XnnpackExecutionProvider",
    "CANNExecutionProvider",
    "AzureExecutionProvider",
)
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
_DEVICES = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}

OPTIONS = OptionSchema(
    (
        Option("threads", "int", "intra-op threads (unset: ONNX Runtime's default, every core)", minimum=1),
        Option("inter_threads", "int", "inter-op threads (used by execution_mode=parallel)", minimum=1),
        Option(
            "execution_mode",
            "choice",
            "operators one at a time or in parallel",
            choices=("sequential", "parallel"),
            aliases={"seq": "sequential", "par": "parallel"},
            default="sequential",
        ),
        Option(
            "graph_opt",
            "choice",
            "graph optimisation level",
            choices=("disable", "basic", "extended", "all"),
            default="all",
        ),
        Option(
            "providers",
            "list",
            "execution providers in order of preference (overrides device); absent ones fall back: degraded",
            choices=_PROVIDERS,
            aliases=_SHORT,
            type_help=f"list of {' | '.join(_SHORT)} or a full EP name, joined by +",
        ),
        Option(
            "device", "choice", "shortcut for providers: cuda means CUDA then CPU", choices=tuple(_DEVICES)
        ),
    )
)


class OnnxRuntimeEngine(Engine):
    """ONNX Runtime InferenceSession on the model's ONNX file; options in `OPTIONS`.

    Unset options keep ONNX Runtime's defaults.
    """

    info = EngineInfo(
        name="onnxruntime",
        description="ONNX Runtime InferenceSession (CPU; CUDA/TensorRT when the build offers them)",
        aliases=("ort",),
        requires=("onnxruntime",),
        needs="onnx",
        devices=("cpu", "cuda"),
        options=OPTIONS,
        parity_priority=20,
        thread_option="threads",
        inter_thread_option="inter_threads",
        device_option="device",
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import onnxruntime."""
        import onnxruntime  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Create the session; requested providers that this build lacks fall back and mark it degraded."""
        import onnxruntime as ort

        if not model.onnx_path:
            raise EngineLoadError(f"onnxruntime needs an ONNX file and model {model.name} has none")
        graph_opt = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }
        modes = {"sequential": ort.ExecutionMode.ORT_SEQUENTIAL, "parallel": ort.ExecutionMode.ORT_PARALLEL}
        so = ort.SessionOptions()
        if "threads" in options:
            so.intra_op_num_threads = options["threads"]
        if "inter_threads" in options:
            so.inter_op_num_threads = options["inter_threads"]
        so.execution_mode = modes[options.get("execution_mode", "sequential")]
        so.graph_optimization_level = graph_opt[options.get("graph_opt", "all")]
        so.log_severity_level = 3  # errors only: fallback warnings are reported as `degraded` instead
        requested = ["CPUExecutionProvider"]
        if "device" in options:
            requested = list(_DEVICES[options["device"]])
        if "providers" in options:
            requested = list(options["providers"])
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
