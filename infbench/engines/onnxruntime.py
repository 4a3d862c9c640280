"""ONNX Runtime engine: one InferenceSession; inputs bound once (IOBinding) or converted per call.

``quant=int8`` runs ONNX Runtime's dynamic INT8 of the model, built at load and cached (`engines.quantize`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from infbench.engines import quantize
from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

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
        Option(
            "quant",
            "choice",
            "int8: dynamic INT8 of the model (onnxruntime.quantization, weights QInt8), built at load and cached",
            choices=("none", "int8"),
            default="none",
        ),
        Option(
            "io",
            "choice",
            "bound: inputs bound once before the timed loop, outputs to CPU (IOBinding, as onnxruntime_perf_test); "
            "copy: session.run(None, feeds) converts them every call",
            choices=("bound", "copy"),
            default="bound",
        ),
    )
)


@dataclass
class BoundInputs:
    """One input bound to the session once (`io=bound`): the IOBinding and the arrays its OrtValues share."""

    binding: Any
    arrays: dict[str, np.ndarray]
    values: list[Any]


class OnnxRuntimeEngine(Engine):
    """ONNX Runtime InferenceSession on the model's ONNX file; options in `OPTIONS`.

    Unset options keep ONNX Runtime's defaults. With ``io=bound`` (default) each distinct input gets its own
    IOBinding in `prepare_inputs` (inputs as OrtValues sharing the arrays, outputs bound to CPU) and a call is
    ``run_with_iobinding``; with ``io=copy`` a call is ``session.run(None, feeds)``.
    """

    bound: bool = True

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
        self._ort = ort
        self.bound = options.get("io", "bound") == "bound"
        quant = str(options.get("quant", "none"))
        path = model.onnx_path
        extra: dict[str, Any] = {}
        if quant == "int8":
            self.mark_phase("quantize")
            try:
                artefact = quantize.ort_dynamic_int8(model.onnx_path)
            except Exception as exc:  # the quantizer raises whatever onnx / onnxruntime raise
                log.debug("dynamic INT8 quantization failed", exc_info=True)
                raise EngineLoadError(
                    f"onnxruntime dynamic INT8 quantization of {model.onnx_path} failed: "
                    f"{type(exc).__name__}: {_first_line(exc)}"
                ) from exc
            path = str(artefact.path)
            extra = {"quant_cache": artefact.cache, "quant_settings": dict(artefact.settings)}
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
            self.session = ort.InferenceSession(path, sess_options=so, providers=usable)
        except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, …)
            raise EngineLoadError(f"onnxruntime cannot load {path}: {_first_line(exc)}") from exc
        used = self.session.get_providers()
        degraded = [f"requested {p}, running on {', '.join(used)}" for p in requested if p not in used]
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        return LoadResult(
            providers=list(used),
            degraded=degraded,
            versions={"onnxruntime": ort.__version__},
            details={
                "precision": "int8" if quant == "int8" else "f32",
                "quant": quant,
                "io": "bound" if self.bound else "copy",
                "model_file_mb": quantize.file_mb(path),
                "threads": so.intra_op_num_threads or _default_threads(),
                "threads_from": "option" if so.intra_op_num_threads else "default: one per physical core",
                "requested_providers": requested,
                "intra_op_num_threads": so.intra_op_num_threads,
                "inter_op_num_threads": so.inter_op_num_threads,
                "graph_opt": str(options.get("graph_opt", "all")),
                "execution_mode": str(options.get("execution_mode", "sequential")),
                **extra,
            },
        )

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray] | BoundInputs:
        """The session's inputs as contiguous arrays; with ``io=bound``, bound once to an IOBinding of their own
        (inputs as OrtValues sharing the arrays, every output bound to CPU)."""
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"inputs lack {', '.join(missing)} required by the ONNX model")
        arrays = {n: np.ascontiguousarray(inputs[n]) for n in self.input_names}
        if not self.bound:
            return arrays
        binding = self.session.io_binding()
        values = []
        for name, array in arrays.items():
            value = self._ort.OrtValue.ortvalue_from_numpy(array)  # CPU: wraps the array's memory, no copy
            binding.bind_ortvalue_input(name, value)
            values.append(value)
        for name in self.output_names:
            binding.bind_output(name, "cpu")
        return BoundInputs(binding, arrays, values)

    def run(self, prepared: Any) -> Any:
        """One call: ``run_with_iobinding`` on the input's binding (outputs stay in it), or ``session.run``."""
        if self.bound:
            self.session.run_with_iobinding(prepared.binding)
            return prepared
        return self.session.run(None, prepared)

    def first_output(self, result: Any) -> np.ndarray:
        """The first output as float32 (fetched from the binding with ``io=bound``)."""
        if isinstance(result, BoundInputs):
            return np.array(result.binding.copy_outputs_to_cpu()[0], dtype=np.float32)
        return np.asarray(result[0], dtype=np.float32)

    def close(self) -> None:
        """Drop the session."""
        self.session = None


def _default_threads() -> int:
    """ONNX Runtime's default intra-op thread count: one per physical core (of those this process may use)."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:
        physical = None
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(physical or logical, logical))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
