"""OpenVINO engine: the ONNX file read and compiled once, one synchronous InferRequest."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import openvino as ov
import openvino.properties as props
import openvino.properties.hint as hints

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles

OPTIONS = ("device", "hint", "threads", "streams", "precision")
# CPUs with AVX512-BF16/AMX default to bf16 inference; f32 keeps parity with the other backends unless asked.
_PRECISIONS = {"f32": ov.Type.f32, "bf16": ov.Type.bf16, "f16": ov.Type.f16, "default": None}
_HINTS = {
    "latency": hints.PerformanceMode.LATENCY,
    "throughput": hints.PerformanceMode.THROUGHPUT,
    "none": None,
}


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EngineLoadError(f"openvino option {key}={value!r}: must be a positive integer")
    return value


class OpenVinoEngine(Engine):
    """OpenVINO compiled model with one InferRequest, run synchronously (``request.infer``).

    Options: ``device`` (CPU|GPU|NPU|AUTO, default CPU), ``hint`` (latency|throughput|none: the
    PERFORMANCE_HINT; none or unset leaves the plugin's default), ``threads`` (INFERENCE_NUM_THREADS),
    ``streams`` (NUM_STREAMS), ``precision`` (f32|bf16|f16|default: INFERENCE_PRECISION_HINT; f32 unless
    given, because OpenVINO silently picks bf16 on CPUs that support it, which breaks output parity).
    """

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Read, compile and create the infer request; an absent device is an EngineLoadError."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise EngineLoadError(
                f"unknown openvino option(s) {', '.join(unknown)}: valid are {', '.join(OPTIONS)}"
            )
        if not model.onnx_path:
            raise EngineLoadError(f"openvino needs an ONNX file and model {model.name} has none")
        core = ov.Core()
        available = list(core.available_devices)
        device = str(options.get("device", "CPU")).upper()
        base = device.split(".")[0]
        if base not in ("CPU", "GPU", "NPU", "AUTO"):
            raise EngineLoadError(f"openvino option device={device!r}: choose from CPU, GPU, NPU, AUTO")
        if (
            base != "AUTO"
            and device not in available
            and not any(d.split(".")[0] == device for d in available)
        ):
            raise EngineLoadError(
                f"OpenVINO device {device} is not available here: available are "
                f"{', '.join(available) or 'none'}"
            )
        config: dict[str, Any] = {}
        hint = str(options.get("hint", "none")).lower()
        if hint not in _HINTS:
            raise EngineLoadError(
                f"openvino option hint={options['hint']!r}: choose from latency, throughput, none"
            )
        if _HINTS[hint] is not None:
            config[hints.performance_mode()] = _HINTS[hint]
        precision = str(options.get("precision", "f32")).lower()
        if precision not in _PRECISIONS:
            raise EngineLoadError(
                f"openvino option precision={options['precision']!r}: choose from {', '.join(_PRECISIONS)}"
            )
        if _PRECISIONS[precision] is not None:
            config[hints.inference_precision()] = _PRECISIONS[precision]
        if "threads" in options:
            config[props.inference_num_threads()] = _positive_int("threads", options["threads"])
        if "streams" in options:
            config[props.num_streams()] = _positive_int("streams", options["streams"])
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
