"""PyTorch engine: a Hugging Face transformers model in eager mode under `torch.inference_mode()`.

This module is named ``torch`` inside the package; ``import torch`` below is an absolute import and resolves to
the real PyTorch.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from infbench.engines._modelcache import load_hf_model
from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

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
    )
)


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


class TorchEngine(Engine):
    """transformers ``AutoModelFor<task>`` loaded from the model's local HF directory; options in `OPTIONS`."""

    info = EngineInfo(
        name="torch",
        description="Hugging Face transformers on PyTorch eager, torch.inference_mode()",
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
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import torch and transformers."""
        import torch  # noqa: F401
        import transformers  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Set threads, load the model in eval mode onto the device."""
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
        _import_model_code(model.hf_dir)  # still the "import" phase: transformers imports model code lazily
        self.mark_phase("read")  # config + weights → the model (eager PyTorch: nothing to compile)
        try:
            self.model = load_hf_model(model.hf_dir, model.task).to(self.device)
        except Exception as exc:  # transformers raises OSError/ValueError/… for unusable directories
            raise EngineLoadError(
                f"transformers cannot load {model.hf_dir}: {str(exc).splitlines()[0]}"
            ) from exc
        self.kwargs: dict[str, Any] = {"use_cache": False} if model.task == "causal-lm" else {}
        details = {
            "threads": torch.get_num_threads(),
            "inter_threads": torch.get_num_interop_threads(),
            "model_class": type(self.model).__name__,
            "attn_implementation": getattr(self.model.config, "_attn_implementation", None),
        }
        provider = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        return LoadResult(
            providers=[provider],
            degraded=degraded,
            versions={"torch": torch.__version__, "transformers": transformers.__version__},
            details=details,
        )

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
        """numpy → tensors on the device (once, outside the timed loop)."""
        import torch

        prepared: dict[str, Any] = {
            k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in inputs.items()
        }
        prepared.update(self.kwargs)
        return prepared

    def run(self, prepared: dict[str, Any]) -> Any:
        """One forward pass; synchronised on CUDA so the timing covers the work."""
        with self._torch.inference_mode():
            out = self.model(**prepared)
        if self.cuda:
            self._torch.cuda.synchronize(self.device)
        return out

    def first_output(self, result: Any) -> np.ndarray:
        """Logits (or the first output) as float32 numpy."""
        first = getattr(result, "logits", None)
        if first is None:
            first = result[0]
        return first.detach().float().cpu().numpy()

    def close(self) -> None:
        """Drop the model."""
        self.model = None
