"""OpenVINO engine: the ONNX file read and compiled once, one synchronous InferRequest."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

OPTIONS = OptionSchema(
    (
        Option(
            "device",
            "choice",
            "OpenVINO device",
            choices=("CPU", "GPU", "NPU", "AUTO"),
            default="CPU",
            normalise=str.upper,
            pattern=r"(GPU|NPU)\.[0-9]+",
            pattern_help="GPU.N",
        ),
        Option(
            "hint",
            "choice",
            "PERFORMANCE_HINT; none leaves the plugin's default",
            choices=("latency", "throughput", "none"),
            default="none",
        ),
        Option("threads", "int", "INFERENCE_NUM_THREADS (unset: OpenVINO's default, every core)", minimum=1),
        Option("streams", "int", "NUM_STREAMS", minimum=1),
        Option(
            "precision",
            "choice",
            "INFERENCE_PRECISION_HINT: f32 unless asked, as OpenVINO picks bf16 where supported (breaks parity)",
            choices=("f32", "bf16", "f16", "default"),
            default="f32",
        ),
    )
)


class OpenVinoEngine(Engine):
    """OpenVINO compiled model with one InferRequest, run synchronously (``request.infer``); options in `OPTIONS`."""

    info = EngineInfo(
        name="openvino",
        description="OpenVINO compiled model, synchronous infer request (CPU; GPU/NPU when present)",
        aliases=("ov",),
        requires=("openvino",),
        needs="onnx",
        devices=("CPU", "GPU", "NPU", "AUTO"),
        options=OPTIONS,
        parity_priority=10,
        thread_option="threads",
        device_option="device",
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import openvino."""
        import openvino  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Read, compile and create the infer request; an absent device is an EngineLoadError."""
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints

        if not model.onnx_path:
            raise EngineLoadError(f"openvino needs an ONNX file and model {model.name} has none")
        core = ov.Core()
        available = list(core.available_devices)
        device = str(options.get("device", "CPU"))
        if (
            device != "AUTO"
            and device not in available
            and not any(d.split(".")[0] == device for d in available)
        ):
            raise EngineLoadError(
                f"OpenVINO device {device} is not available here: available are "
                f"{', '.join(available) or 'none'}"
            )
        precisions = {"f32": ov.Type.f32, "bf16": ov.Type.bf16, "f16": ov.Type.f16, "default": None}
        modes = {"latency": hints.PerformanceMode.LATENCY, "throughput": hints.PerformanceMode.THROUGHPUT}
        config: dict[str, Any] = {}
        hint = str(options.get("hint", "none"))
        if hint in modes:
            config[hints.performance_mode()] = modes[hint]
        precision = precisions[str(options.get("precision", "f32"))]
        if precision is not None:
            config[hints.inference_precision()] = precision
        if "threads" in options:
            config[props.inference_num_threads()] = options["threads"]
        if "streams" in options:
            config[props.num_streams()] = options["streams"]
        try:
            self.mark_phase("read")  # ONNX → OpenVINO model
            read = core.read_model(model.onnx_path)
            self.mark_phase("compile")
            self.compiled = core.compile_model(read, device, config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long messages
            raise EngineLoadError(
                f"OpenVINO cannot compile {model.onnx_path} for {device}: {str(exc).strip().splitlines()[0]}"
            ) from exc
        self.request = self.compiled.create_infer_request()
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
        details: dict[str, Any] = {"requested_device": device, "hint": hint}
        for key, prop in (
            ("threads", props.inference_num_threads),
            ("streams", props.num_streams),
            ("performance_hint", hints.performance_mode),
            ("precision", hints.inference_precision),
        ):
            with contextlib.suppress(RuntimeError):  # not every device reports every property
                details[key] = str(self.compiled.get_property(prop()))
        used = self._execution_devices(device)
        return LoadResult(providers=used, versions={"openvino": ov.get_version()}, details=details)

    def _execution_devices(self, device: str) -> list[str]:
        import openvino.properties as props

        try:
            return [str(d) for d in self.compiled.get_property(props.execution_devices())]
        except RuntimeError:
            return [device]

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Fresh numpy-owned contiguous copies, shared with OpenVINO tensors (not copied per call).

        The arrays the worker receives live inside unpickled buffers; OpenVINO reads shared inputs in place, so
        give it memory numpy allocated itself.
        """
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"inputs lack {', '.join(missing)} required by the ONNX model")
        return {n: np.array(inputs[n], copy=True, order="C") for n in self.input_names}

    def run(self, prepared: dict[str, np.ndarray]) -> Any:
        """One synchronous inference; outputs stay in the request's buffers (no copy on the hot path)."""
        return self.request.infer(prepared, share_inputs=True, share_outputs=True)

    def first_output(self, result: Any) -> np.ndarray:
        """A float32 copy of the first output (the request's buffer is overwritten by the next call)."""
        return np.array(result[0], dtype=np.float32, copy=True)

    def close(self) -> None:
        """Drop the request and the compiled model."""
        self.request = None
        self.compiled = None
