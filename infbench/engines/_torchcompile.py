"""`torch.compile` for the torch engine: the support checks, the warm-up input, and what the compile reports.

Imported only in the torch engine's child (by `TorchEngine.load`), after torch itself.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
from typing import Any

import numpy as np

from infbench.engines.base import EngineLoadError, ModelFiles
from infbench.engines.models import cache_root
from infbench.engines.workloads import build_inputs
from infbench.plan.spec import WorkloadSpec

log = logging.getLogger(__name__)

SYNTHETIC_SEQ = 128  # the workload's default --seq: the warm-up length when the engine is not given an input
CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")  # they record CUDA graphs over the first calls


def check_supported(torch: Any, device: Any) -> None:
    """EngineLoadError in one line when `torch.compile` cannot work here (no dynamo, no C++ compiler, no triton).

    `device` is the `torch.device` the model will run on.
    """
    try:
        import torch._dynamo as dynamo
    except ImportError as exc:
        raise EngineLoadError(
            f"torch compile=true: torch._dynamo cannot be imported in torch {torch.__version__} ({exc}): "
            "run without compile"
        ) from exc
    if not dynamo.is_dynamo_supported():
        raise EngineLoadError(
            f"torch compile=true: torch.compile does not support Python {platform.python_version()} with "
            f"torch {torch.__version__}: run without compile"
        )
    if device.type == "cpu":
        cxx = os.environ.get("CXX") or "g++"  # what inductor's config.cpp.cxx uses
        if shutil.which(cxx) is None:
            raise EngineLoadError(
                f"torch compile=true on cpu needs a C++ compiler (inductor builds its kernels with {cxx}) and "
                f"{cxx} is not on PATH: install g++ or set CXX, or run without compile"
            )
    elif device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            raise EngineLoadError(
                "torch compile=true on cuda needs triton, which this torch build cannot import: "
                "pip install triton, or run without compile"
            )


def use_cache_dir() -> str:
    """Point inductor's cache into infbench's model cache, unless the user chose one; the path in use.

    Call before torch first asks for its cache dir: loading a model does, and then pins the variable to torch's
    default (``/tmp/torchinductor_<user>``), which a parent that loaded models passes on to its children — so
    that default counts as not chosen.
    """
    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        default: str | None = os.path.abspath(default_cache_dir())
    except ImportError:  # a torch without that module: only an unset variable is replaced
        default = None
    if current is None or (default is not None and os.path.abspath(current) == default):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_root() / "torchinductor")
    return os.environ["TORCHINDUCTOR_CACHE_DIR"]


def warmup_input(model: ModelFiles, given: dict[str, np.ndarray] | None) -> tuple[dict[str, np.ndarray], str]:
    """The input the compiling call runs on, and where it comes from (for details).

    `given` (the workload's first input, when the worker passes it) compiles for the very shapes measured;
    otherwise a synthetic batch 1 × `SYNTHETIC_SEQ` (the model's fixed length if it has one) — a workload of
    other shapes then recompiles on its first call, which is still cold start.
    """
    if given:
        return given, "workload input"
    seq = _static_seq(model) or min(SYNTHETIC_SEQ, int(model.extra.get("max_positions") or SYNTHETIC_SEQ))
    item = build_inputs(model, WorkloadSpec(batch=1, seq=seq, cycle=1)).items[0]
    return item, f"synthetic 1x{seq}"


def _static_seq(model: ModelFiles) -> int | None:
    for spec in model.inputs:
        if len(spec.shape) >= 2 and isinstance(spec.shape[1], int) and spec.shape[1] > 0:
            return spec.shape[1]
    return None


def failure_text(exc: BaseException, mode: str | None) -> str:
    """One line for a compile that failed: the mode, the exception's type and the first line of its message."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    if len(first) > 300:
        first = first[:297] + "…"
    return f"torch.compile (mode={mode or 'default'}) failed: {type(exc).__name__}: {first}"


def compile_stats() -> dict[str, Any]:
    """What dynamo/inductor counted in this process: graphs compiled, and whether inductor's cache served them."""
    from torch._dynamo.utils import counters

    hits = int(counters["inductor"].get("fxgraph_cache_hit", 0))
    misses = int(counters["inductor"].get("fxgraph_cache_miss", 0))
    cache = "hit" if hits and not misses else "miss" if misses and not hits else "partial" if hits else "none"
    return {"compile_graphs": int(counters["stats"].get("unique_graphs", 0)), "compile_cache": cache}
