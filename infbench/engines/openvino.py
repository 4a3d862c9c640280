"""OpenVINO engine: the model read and compiled once, one synchronous InferRequest.

``io=bound`` (default) sets each distinct input's tensors on the request once and calls it without converting
anything, as ``benchmark_app -api sync`` does; ``io=copy`` hands numpy arrays to ``request.infer`` every call.
``quant=int8-weights|int8`` runs an NNCF-quantized IR, built at load and cached (`engines.quantize`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from infbench.engines import quantize
from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

_NO_INPUTS: dict[str, Any] = {}  # the bound call sets nothing (the request holds its input tensors already)

# Shared with the other OpenVINO engines (ov-genai), so the same option means the same thing on each.
THREADS = Option("threads", "int", "INFERENCE_NUM_THREADS (unset: OpenVINO's default, every core)", minimum=1)
PRECISION = Option(
    "precision",
    "choice",
    "INFERENCE_PRECISION_HINT: f32 unless asked, as OpenVINO picks bf16 where supported (breaks parity)",
    choices=("f32", "bf16", "f16", "default"),
    default="f32",
)

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
        THREADS,
        Option("streams", "int", "NUM_STREAMS", minimum=1),
        PRECISION,
        Option(
            "quant",
            "choice",
            "NNCF INT8 (needs nncf): int8-weights compresses weights only; int8 quantizes fully, calibrated on the "
            "workload's inputs (random token ids when the engine gets none at load); built at load and cached",
            choices=("none", "int8-weights", "int8"),
            default="none",
            requires={"int8-weights": ("nncf",), "int8": ("nncf",)},
        ),
        Option(
            "io",
            "choice",
            "bound: input tensors set on the request once, outputs read only for parity (as benchmark_app); "
            "copy: numpy inputs converted and outputs wrapped every call",
            choices=("bound", "copy"),
            default="bound",
        ),
    )
)


@dataclass
class BoundInputs:
    """One input for `io=bound`: (input index, openvino.Tensor sharing the array) pairs, and the arrays."""

    tensors: list[tuple[int, Any]]
    arrays: dict[str, np.ndarray]


class OpenVinoEngine(Engine):
    """OpenVINO compiled model with one InferRequest, run synchronously; options in `OPTIONS`."""

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

    # Inputs to calibrate ``quant=int8`` on, when whoever loads the engine sets them before `load` (the worker
    # can hand over the workload's inputs); otherwise random token ids are used and the details say so.
    bound: bool = True

    @classmethod
    def import_backend(cls) -> None:
        """Import openvino."""
        import openvino  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Read (quantize), compile and create the infer request; an absent device is an EngineLoadError."""
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints

        if not model.onnx_path:
            raise EngineLoadError(f"openvino needs an ONNX file and model {model.name} has none")
        self._ov = ov
        self.bound = options.get("io", "bound") == "bound"
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
        asked = str(options.get("precision", "f32"))
        if precisions[asked] is not None:
            config[hints.inference_precision()] = precisions[asked]
        if "threads" in options:
            config[props.inference_num_threads()] = options["threads"]
        if "streams" in options:
            config[props.num_streams()] = options["streams"]
        default_precision = None
        # what the device would run unless told (bf16 on CPUs with AMX or AVX512-BF16)
        with contextlib.suppress(RuntimeError):
            default_precision = _type_name(core.get_property(device, hints.inference_precision()))
        quant = str(options.get("quant", "none"))
        details: dict[str, Any] = {"requested_device": device, "hint": hint, "quant": quant}
        self.mark_phase("read")  # ONNX → OpenVINO model
        path = self._model_path(model, quant, details)  # a quantized IR: its own phase
        try:
            read = core.read_model(path)
            self.mark_phase("compile")
            self.compiled = core.compile_model(read, device, config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long messages
            raise EngineLoadError(f"OpenVINO cannot compile {path} for {device}: {_first_line(exc)}") from exc
        self.request = self.compiled.create_infer_request()
        self._infer = _raw_infer()
        self._current: BoundInputs | None = None
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
        for key, prop in (
            ("threads", props.inference_num_threads),
            ("streams", props.num_streams),
            ("performance_hint", hints.performance_mode),
        ):
            with contextlib.suppress(RuntimeError):  # not every device reports every property
                details[key] = _plain(self.compiled.get_property(prop()))
        ran = None
        with contextlib.suppress(RuntimeError):
            ran = _type_name(self.compiled.get_property(hints.inference_precision()))
        degraded = []
        if ran is not None:
            details["inference_precision"] = ran
            if asked != "default" and ran != asked:
                degraded.append(f"requested precision {asked}, {device} runs {ran}")
        details["precision"] = "int8" if quant == "int8" else ran or asked
        if default_precision is not None:
            details["device_default_precision"] = default_precision
            if asked != "default" and ran is not None and default_precision != ran:
                details["default_precision"] = default_precision  # infbench forced what ran, not the device
        details["io"] = "bound" if self.bound else "copy"
        details["model_file_mb"] = quantize.file_mb(path)
        used = self._execution_devices(device)
        return LoadResult(providers=used, degraded=degraded, versions=self._versions(quant), details=details)

    def _model_path(self, model: ModelFiles, quant: str, details: dict[str, Any]) -> str:
        """The file to read: the ONNX file, or its quantized IR (built now or found in the cache: the "quantize"
        load phase)."""
        source = str(model.onnx_path)
        if quant == "none":
            return source
        self.mark_phase("quantize")
        try:
            if quant == "int8-weights":
                artefact = quantize.ov_int8_weights(source)
            else:
                if self.workload_inputs:
                    calibration = [dict(item) for item in self.workload_inputs]
                    origin = f"workload inputs ({len(calibration)})"
                else:
                    calibration = quantize.random_calibration(model.inputs, model.vocab_size)
                    origin = (
                        f"random token ids ({len(calibration)} × 1×{quantize.CALIBRATION_SEQ}): "
                        "no workload inputs at load"
                    )
                details["calibration"] = origin
                artefact = quantize.ov_int8(source, calibration, origin)
        except ImportError as exc:  # nncf vanished between validation and load
            raise EngineLoadError(f"openvino quant={quant} needs nncf: pip install nncf ({exc})") from exc
        except Exception as exc:  # NNCF and OpenVINO raise many types; one line is what the user gets
            log.debug("NNCF quantization failed", exc_info=True)
            raise EngineLoadError(
                f"NNCF {quant} quantization of {source} failed: {type(exc).__name__}: {_first_line(exc)}"
            ) from exc
        details["quant_cache"] = artefact.cache
        details["quant_settings"] = dict(artefact.settings)
        return str(artefact.path)

    def _versions(self, quant: str) -> dict[str, str]:
        versions = {"openvino": self._ov.get_version()}
        if quant != "none":
            versions["nncf"] = str(quantize.nncf_module().__version__)
        return versions

    def _execution_devices(self, device: str) -> list[str]:
        import openvino.properties as props

        try:
            return [str(d) for d in self.compiled.get_property(props.execution_devices())]
        except RuntimeError:
            return [device]

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray] | BoundInputs:
        """Fresh numpy-owned contiguous copies; with ``io=bound``, wrapped once in OpenVINO tensors sharing them.

        The arrays the worker receives live inside unpickled buffers; OpenVINO reads shared inputs in place, so
        give it memory numpy allocated itself.
        """
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"inputs lack {', '.join(missing)} required by the ONNX model")
        arrays = {n: np.array(inputs[n], copy=True, order="C") for n in self.input_names}
        if not self.bound:
            return arrays
        tensors = [
            (i, self._ov.Tensor(arrays[n], shared_memory=True)) for i, n in enumerate(self.input_names)
        ]
        return BoundInputs(tensors, arrays)

    def run(self, prepared: Any) -> Any:
        """One synchronous inference. Bound: the input's tensors are set on the request only when it differs
        from the last call's, then the request runs with nothing to convert. Copy: ``request.infer(arrays)``;
        outputs stay in the request's buffers either way (no copy on the hot path)."""
        if self.bound:
            if prepared is not self._current:
                for index, tensor in prepared.tensors:
                    self.request.set_input_tensor(index, tensor)
                self._current = prepared
            return self._infer(self.request, _NO_INPUTS, True, True)
        return self.request.infer(prepared, share_inputs=True, share_outputs=True)

    def first_output(self, result: Any) -> np.ndarray:
        """A float32 copy of the request's first output (its buffer is overwritten by the next call)."""
        if self.bound:
            return np.array(self.request.get_output_tensor(0).data, dtype=np.float32, copy=True)
        return np.array(result[0], dtype=np.float32, copy=True)

    def close(self) -> None:
        """Drop the request and the compiled model."""
        self.request = None
        self.compiled = None
        self._current = None


def _raw_infer() -> Callable[[Any, dict[str, Any], bool, bool], Any]:
    """The bindings' own synchronous ``infer(request, inputs, share_outputs, decode_strings)``: no Python input
    dispatch, outputs returned as views of the request's buffers."""
    try:
        from openvino._pyopenvino import InferRequest as Base

        base_infer: Callable[[Any, dict[str, Any], bool, bool], Any] = Base.infer
        return base_infer
    except (
        ImportError,
        AttributeError,
    ):  # another layout of the bindings: the public call, sharing both ways
        log.debug("openvino._pyopenvino.InferRequest.infer not found; using InferRequest.infer")
        return _public_infer


def _public_infer(request: Any, inputs: dict[str, Any], share_outputs: bool, decode_strings: bool) -> Any:
    return request.infer(
        inputs, share_inputs=True, share_outputs=share_outputs, decode_strings=decode_strings
    )


def _type_name(value: Any) -> str:
    """``f32`` / ``bf16`` / ``f16`` for an `openvino.Type` (or its text)."""
    to_string = getattr(value, "to_string", None)
    text = str(to_string() if callable(to_string) else value)
    return {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(text, text)


def _plain(value: Any) -> Any:
    """An int when the property is one, else its text."""
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
