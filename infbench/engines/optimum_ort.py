"""Optimum for ONNX Runtime: ``ORTModelFor<Task>`` (optimum-onnx) on the model's HF directory, exported by
Optimum itself (cached), called as its users call it — torch tensors in, ``model(**inputs)`` — so the report
can state what the wrapper costs over the direct `onnxruntime` engine on the same model and inputs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from infbench.engines import _optimum as opt
from infbench.engines import quantize
from infbench.engines.base import EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.onnxruntime import _default_threads
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

WRAPS = "onnxruntime"  # the direct engine this one wraps (`analysis.wrappers` pairs them by this)
DIST = "optimum-onnx"

OPTIONS = OptionSchema(
    (
        Option(
            "threads", "int", "SessionOptions.intra_op_num_threads (unset: ONNX Runtime's default)", minimum=1
        ),
        Option(
            "io_binding",
            "bool",
            "use_io_binding of the ORTModel (unset: Optimum's default, off on CPU)",
        ),
    )
)


class OptimumOrtEngine(opt.OptimumEngine):
    """``ORTModelFor<Task>.from_pretrained`` on Optimum's own (cached) export of the HF directory; in generate
    mode ``ORTModelForCausalLM`` with its KV cache and ``generate``."""

    info = EngineInfo(
        name="optimum-ort",
        description="Optimum ORTModelFor<Task> (optimum-onnx) on ONNX Runtime, called with torch tensors",
        aliases=("ort-optimum", "optimum-onnxruntime"),
        requires=("optimum.onnxruntime", "onnxruntime", "torch", "transformers"),
        pip={"optimum.onnxruntime": "optimum-onnx[onnxruntime]"},
        needs="hf",
        tasks=opt.TASKS,
        devices=("cpu",),
        options=OPTIONS,
        parity_priority=15,  # below the direct onnxruntime engine (20): the wrapper is the one judged
        thread_option="threads",
        generates=True,
        default_for=("generate",),  # no -b: a generate run only
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import optimum.onnxruntime (with onnxruntime, torch and transformers)."""
        import optimum.onnxruntime  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Export (or find cached) and load the ORTModel with the variant's session options."""
        import onnxruntime as ort
        import optimum.onnxruntime as ortmod

        name = self.info.name
        target = self._target(model)
        generating, extra = target.generating, target.extra
        cls = opt.wrapper_class(ortmod, "ORTModel", target.task, name)
        libs = opt.versions("optimum", DIST, "onnxruntime", "transformers", "torch")
        self.mark_phase("read")  # Optimum's export of the HF directory (cached) → ONNX

        def build(tmp: Path) -> None:
            exported = cls.from_pretrained(target.hf_dir, export=True, **extra, **opt.HF_KWARGS)
            exported.save_pretrained(str(tmp))

        settings = {"class": cls.__name__, "task": target.task, "use_cache": generating}
        kind = "ort-kv" if generating else "ort"
        export = self._export(model, target, kind, "Optimum's ONNX export", libs, build, settings)
        so = ort.SessionOptions()
        if "threads" in options:
            so.intra_op_num_threads = options["threads"]
        so.log_severity_level = 3
        kwargs: dict[str, Any] = {"session_options": so, "provider": "CPUExecutionProvider", **extra}
        if "io_binding" in options:
            kwargs["use_io_binding"] = options["io_binding"]
        self.mark_phase("compile")  # session creation: reading, graph optimisation, kernels
        try:
            with opt.quiet_loggers():
                wrapper = cls.from_pretrained(str(export.path), export=False, **kwargs, **opt.HF_KWARGS)
        except Exception as exc:  # ORT and Optimum raise many types
            raise EngineLoadError(f"{name} cannot load {export.path}: {opt.first_line(exc)}") from exc
        details = self._setup_calls(wrapper, generating)
        onnx_files = sorted(export.path.glob("*.onnx"))
        details.update(
            {
                "wrapper": f"{DIST} {libs.get(DIST, '?')} {cls.__name__}",
                "wraps": WRAPS,
                "precision": "f32",
                "threads": so.intra_op_num_threads or _default_threads(),
                "threads_from": "option" if so.intra_op_num_threads else "default: one per physical core",
                "io_binding": bool(getattr(wrapper, "use_io_binding", False)),
                "model_file_mb": round(sum(quantize.file_mb(p) for p in onnx_files), 3),
                "export_cache": export.cache,
                "export_dir": str(export.path),
            }
        )
        return LoadResult(
            providers=list(wrapper.providers) if hasattr(wrapper, "providers") else ["CPUExecutionProvider"],
            versions={**libs, "onnxruntime": ort.__version__},
            details=details,
        )
