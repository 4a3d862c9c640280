"""PyTorch engine: a Hugging Face transformers model under `torch.inference_mode()`, eager or `torch.compile`d.

This module is named ``torch`` inside the package; ``import torch`` below is an absolute import and resolves to
the real PyTorch. The compiled variant (``torch:compile=true``) lives in `infbench.engines._torchcompile`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from infbench.engines._modelcache import load_hf_model
from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

OPTIONS = OptionSchema(
    (
        Option("threads", "int", "torch.set_num_threads (unset: PyTorch's default, every core)", minimum=1),
        Option(
            "inter_threads",
            "int",
            "torch.set_num_interop_threads (only before any parallel work in the process)",
            minimum=1,
        ),
        Option(
            "device",
            "choice",
            "torch device",
            choices=("cpu", "cuda"),
            default="cpu",
            pattern=r"cuda:[0-9]+",
            pattern_help="cuda:N",
        ),
        Option(
            "compile",
            "bool",
            "torch.compile the model (inductor, dynamic=None); the compile runs while loading, in cold start",
            default=False,
        ),
        Option(
            "mode",
            "choice",
            "torch.compile mode; only with compile=true",
            choices=COMPILE_MODES,
            only_with={"compile": True},
        ),
    )
)

_PRECISION = {"float32": "f32", "bfloat16": "bf16", "float16": "f16", "float64": "f64"}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def _import_model_code(hf_dir: str) -> None:
    """Import the modeling module of the directory's architecture (transformers loads it lazily, on first use).

    Only so the load phases tell import time from reading weights; any problem is left to `from_pretrained`.
    """
    import transformers

    try:
        config = transformers.AutoConfig.from_pretrained(
            hf_dir, local_files_only=True, trust_remote_code=False
        )
        for arch in getattr(config, "architectures", None) or []:
            getattr(transformers, arch, None)
    except Exception as exc:  # any problem here resurfaces, with its message, in from_pretrained
        log.debug("importing the model code of %s: %s", hf_dir, exc)


def _weights_mb(hf_dir: str) -> float:
    """Size on disk of the weight files in `hf_dir`, MB."""
    files = [p for p in Path(hf_dir).iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES]
    return round(sum(p.stat().st_size for p in files) / 1e6, 3)


class TorchEngine(Engine):
    """transformers ``AutoModelFor<task>`` loaded from the model's local HF directory; options in `OPTIONS`.

    With ``compile=true`` the model is wrapped in `torch.compile` and called once on a representative input
    inside `load` (load phase "compile"), so the compile time lands in cold start, not in the measured calls.
    """

    info = EngineInfo(
        name="torch",
        description="Hugging Face transformers on PyTorch, eager or torch.compile, torch.inference_mode()",
        aliases=("transformers", "pytorch", "pt"),
        requires=("torch", "transformers"),
        pip={"torch": "torch==2.13.0"},
        needs="hf",
        devices=("cpu", "cuda"),
        options=OPTIONS,
        parity_priority=100,  # the source framework: the others are compared with it
        thread_option="threads",
        inter_thread_option="inter_threads",
        device_option="device",
        generates=True,
        default_for=("prefill", "generate"),
    )
    generating: bool = False  # --task generate: `run` is `model.generate` (see `_torchgen`)

    @classmethod
    def import_backend(cls) -> None:
        """Import torch and transformers."""
        import torch  # noqa: F401
        import transformers  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Set threads, load the model in eval mode onto the device, and compile it when asked."""
        import torch
        import transformers

        if not model.hf_dir:
            raise EngineLoadError(
                f"torch needs a Hugging Face model directory and model {model.name} has none"
            )
        degraded = []
        if "inter_threads" in options:
            n = options["inter_threads"]
            try:
                torch.set_num_interop_threads(n)
            except RuntimeError as exc:  # raised once inter-op work has started in this process
                degraded.append(f"inter_threads={n} not applied: {exc}")
        if "threads" in options:
            torch.set_num_threads(options["threads"])
        device = str(options.get("device", "cpu"))
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineLoadError(
                "torch device cuda requested but CUDA is not available to this torch build "
                f"({torch.__version__}): use device=cpu or install a CUDA build of torch"
            )
        self._torch = torch  # the hot path uses the module without an import statement per call
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        compiling = bool(options.get("compile"))
        if compiling:
            from infbench.engines._torchcompile import check_supported, use_cache_dir

            check_supported(torch, self.device)  # before reading weights: a clear line, fast
            cache = use_cache_dir()  # before reading: torch fixes its cache dir on first use
            log.debug("inductor cache: %s", cache)
        _import_model_code(model.hf_dir)  # still the "import" phase: transformers imports model code lazily
        self.mark_phase("read")  # config + weights → the model
        try:
            self.model = load_hf_model(model.hf_dir, model.task).to(self.device)
        except Exception as exc:  # transformers raises OSError/ValueError/… for unusable directories
            raise EngineLoadError(
                f"transformers cannot load {model.hf_dir}: {str(exc).splitlines()[0]}"
            ) from exc
        self.kwargs: dict[str, Any] = {"use_cache": False} if model.task == "causal-lm" else {}
        self.generating = self.workload.get("task") == "generate"
        self.hf_dir = model.hf_dir
        if self.generating:
            from infbench.engines import _torchgen

            self.kwargs, self.gen = _torchgen.setup(self.model, model, self.workload)
        dtype = str(next(self.model.parameters()).dtype).removeprefix("torch.")
        details: dict[str, Any] = {
            "threads": torch.get_num_threads(),
            "inter_threads": torch.get_num_interop_threads(),
            "model_class": type(self.model).__name__,
            "attn_implementation": getattr(self.model.config, "_attn_implementation", None),
            "precision": _PRECISION.get(dtype, dtype),
            "model_file_mb": _weights_mb(model.hf_dir),
            "compile": compiling,
        }
        if compiling:
            self.mark_phase("compile")
            details.update(self._compile(model, options.get("mode")))
        if self.generating:
            details.update(self.gen.load_details(self, compiled=compiling))
        provider = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        return LoadResult(
            providers=[provider],
            degraded=degraded,
            versions={"torch": torch.__version__, "transformers": transformers.__version__},
            details=details,
        )

    def _compile(self, model: ModelFiles, mode: str | None) -> dict[str, Any]:
        """Wrap the model in `torch.compile` and call it once (the compile happens there); details to report."""
        from infbench.engines import _torchcompile as tc

        given = self.workload_inputs[0] if self.workload_inputs else None  # the workload's first input
        sample, source = tc.warmup_input(model, given)
        prepared = self.prepare_inputs(sample)
        t = time.perf_counter_ns()
        if self.generating:  # generate() is a Python loop: compile the forward pass it calls each step
            self.model.forward = self._torch.compile(self.model.forward, mode=mode, dynamic=True)
        else:
            self.model = self._torch.compile(self.model, mode=mode)
        try:
            self.run(prepared)
        except Exception as exc:  # dynamo/inductor raise many types; all mean "this does not compile here"
            log.debug("torch.compile failed", exc_info=True)
            raise EngineLoadError(tc.failure_text(exc, mode)) from exc
        compile_ms = (time.perf_counter_ns() - t) / 1e6
        if self.cuda and mode in tc.CUDAGRAPH_MODES:
            for _ in range(
                2
            ):  # CUDA graphs are recorded over the next calls: keep that out of the measurement
                self.run(prepared)
        log.debug("compiled in %.0f ms on %s", compile_ms, source)
        details = {"mode": mode or "default", "compile_ms": round(compile_ms, 1), "compile_warmup": source}
        return details | tc.compile_stats()

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
        """numpy → tensors on the device (once, outside the timed loop)."""
        import torch

        prepared: dict[str, Any] = {
            k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in inputs.items()
        }
        prepared.update(self.kwargs)
        return prepared

    def run(self, prepared: dict[str, Any]) -> Any:
        """One forward pass (generating: one greedy `generate`); synchronised on CUDA so the timing covers it."""
        with self._torch.inference_mode():
            out = self.model.generate(**prepared) if self.generating else self.model(**prepared)
        if self.cuda:
            self._torch.cuda.synchronize(self.device)
        return out

    def emits_tokens(self) -> bool:
        """Whether `run` generates (``--task generate``): each step is then stamped."""
        return self.generating

    def take_tokens(self) -> np.ndarray:
        """The last call's per-step stamps (perf_counter_ns), from the `TokenClock` streamer."""
        return self.gen.clock.take() if self.generating else np.empty(0, np.int64)

    def first_output(self, result: Any) -> np.ndarray:
        """Logits (or the first output) as float32 numpy; generating: the new token ids [batch, new_tokens]."""
        if self.generating:
            return result[:, -self.gen.new_tokens :].detach().float().cpu().numpy()
        first = getattr(result, "logits", None)
        if first is None:
            first = result[0]
        return first.detach().float().cpu().numpy()

    def close(self) -> None:
        """Drop the model."""
        self.model = None
