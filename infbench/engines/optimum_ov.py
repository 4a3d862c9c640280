"""Optimum Intel for OpenVINO: ``OVModelFor<Task>`` (optimum-intel) on the model's HF directory, exported to
OpenVINO IR by Optimum itself (cached), called as its users call it — torch tensors in, ``model(**inputs)``.

Compiled like the direct `openvino` engine is for parity: PERFORMANCE_HINT LATENCY, one stream, and f32 unless
``precision`` says otherwise. The wrapper's own default is the device's (bf16 on CPUs with AVX512-BF16 or AMX);
the details say what that default is, and the report notes it (`analysis.summary.precision_notes`).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from infbench.engines import _optimum as opt
from infbench.engines import quantize
from infbench.engines.base import EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.openvino import _type_name
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

WRAPS = "openvino"  # the direct engine this one wraps (`analysis.wrappers` pairs them by this)
DIST = "optimum-intel"
DEVICE = "CPU"

OPTIONS = OptionSchema(
    (
        Option("threads", "int", "ov_config INFERENCE_NUM_THREADS (unset: OpenVINO's default)", minimum=1),
        Option(
            "precision",
            "choice",
            "ov_config INFERENCE_PRECISION_HINT: f32 unless asked (the wrapper's own default is the device's, "
            "bf16 where supported, which breaks parity)",
            choices=("f32", "bf16", "f16"),
            default="f32",
        ),
    )
)


class OptimumOvEngine(opt.OptimumEngine):
    """``OVModelFor<Task>.from_pretrained`` on Optimum Intel's own (cached) IR export of the HF directory,
    compiled with LATENCY / one stream; in generate mode ``OVModelForCausalLM`` (stateful KV cache)."""

    info = EngineInfo(
        name="optimum-ov",
        description="Optimum Intel OVModelFor<Task> on OpenVINO (CPU), called with torch tensors",
        aliases=("ov-optimum", "optimum-openvino"),
        requires=("optimum.intel", "openvino", "torch", "transformers"),
        pip={"optimum.intel": "optimum-intel[openvino]"},
        needs="hf",
        tasks=opt.TASKS,
        devices=(DEVICE,),
        options=OPTIONS,
        parity_priority=5,  # below the direct openvino engine (10)
        thread_option="threads",
        generates=True,
        default_for=("generate",),  # no -b: a generate run only
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import optimum.intel's OpenVINO models (with openvino, torch and transformers)."""
        import optimum.intel.openvino  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Export (or find cached), read and compile the OVModel with the variant's ov_config."""
        import openvino as ov
        import optimum.intel.openvino as ovmod

        name = self.info.name
        target = self._target(model)
        generating, extra = target.generating, target.extra
        cls = opt.wrapper_class(ovmod, "OVModel", target.task, name)
        libs = opt.versions("optimum", DIST, "openvino", "transformers", "torch")
        self.mark_phase("read")  # Optimum Intel's export (cached) → IR, then reading it

        def build(tmp: Path) -> None:
            exported = cls.from_pretrained(
                target.hf_dir, export=True, compile=False, load_in_8bit=False, **extra, **opt.HF_KWARGS
            )
            exported.save_pretrained(str(tmp))

        settings = {"class": cls.__name__, "task": target.task, "use_cache": generating, "weights": "f32"}
        kind = "ov-kv" if generating else "ov"
        export = self._export(model, target, kind, "Optimum Intel's OpenVINO export", libs, build, settings)
        asked = str(options.get("precision", "f32"))
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_PRECISION_HINT": asked,
        }
        if "threads" in options:
            config["INFERENCE_NUM_THREADS"] = int(options["threads"])
        try:
            with opt.quiet_loggers():
                wrapper = cls.from_pretrained(
                    str(export.path),
                    export=False,
                    compile=False,
                    device=DEVICE,
                    ov_config=config,
                    **extra,
                    **opt.HF_KWARGS,
                )
                self.mark_phase("compile")
                wrapper.compile()
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long messages
            raise EngineLoadError(f"{name} cannot compile {export.path}: {opt.first_line(exc)}") from exc
        details = self._setup_calls(wrapper, generating)
        compiled = _compiled_model(wrapper)
        ran = _property(compiled, "INFERENCE_PRECISION_HINT")
        ran = _type_name(ran) if ran is not None else asked
        default = None
        with contextlib.suppress(
            RuntimeError
        ):  # what the device computes in unless told (the wrapper's default)
            default = _type_name(ov.Core().get_property(DEVICE, "INFERENCE_PRECISION_HINT"))
        degraded = [f"requested precision {asked}, {DEVICE} runs {ran}"] if ran != asked else []
        details.update(
            {
                "wrapper": f"{DIST} {libs.get(DIST, '?')} {cls.__name__}",
                "wraps": WRAPS,
                "precision": ran,
                "inference_precision": ran,
                "threads": _property(compiled, "INFERENCE_NUM_THREADS"),
                "streams": _property(compiled, "NUM_STREAMS"),
                "performance_hint": _property(compiled, "PERFORMANCE_HINT"),
                "model_file_mb": round(sum(quantize.file_mb(p) for p in export.path.glob("*.xml")), 3),
                "export_cache": export.cache,
                "export_dir": str(export.path),
            }
        )
        if default is not None:
            details["device_default_precision"] = default
            if default != ran:
                details["default_precision"] = default  # infbench set what ran; the wrapper's default differs
        return LoadResult(
            providers=_execution_devices(compiled),
            degraded=degraded,
            versions={**libs, "openvino": ov.get_version()},
            details=details,
        )


def _compiled_model(wrapper: Any) -> Any:
    """The CompiledModel behind an OVModel (its ``request`` is one, or an InferRequest of one)."""
    request = getattr(wrapper, "request", None)
    get = getattr(request, "get_compiled_model", None)
    return get() if callable(get) else request


def _property(compiled: Any, key: str) -> Any:
    """A compiled-model property as an int or text; None when the device does not report it."""
    try:
        value = compiled.get_property(key)
    except (RuntimeError, AttributeError, TypeError) as exc:
        log.debug("property %s not readable: %s", key, exc)
        return None
    if key == "INFERENCE_PRECISION_HINT":
        return value
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _execution_devices(compiled: Any) -> list[str]:
    """The devices the compiled model runs on (``CPU`` when it does not say)."""
    try:
        return [str(d) for d in compiled.get_property("EXECUTION_DEVICES")]
    except (RuntimeError, AttributeError, TypeError) as exc:
        log.debug("EXECUTION_DEVICES not readable: %s", exc)
        return [DEVICE]
