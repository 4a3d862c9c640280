"""Engine protocol, the model files an engine loads, and the backend registry.

This module is imported by the app *and* by every worker child, so it imports nothing heavy: backend
packages are only imported by `load_engine_class` inside the child.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infbench.errors import BackendUnavailable


@dataclass(frozen=True)
class InputSpec:
    """One model input: name, numpy dtype name and shape (ints, or strings for symbolic dims)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]


@dataclass(frozen=True)
class ModelFiles:
    """A prepared model, ready for engines: paths on local disk and what its inputs look like.

    Attributes:
        name: display name (built-in name or file/dir name).
        kind: ``builtin`` | ``onnx`` | ``hf``.
        onnx_path: the ONNX file (for onnxruntime/openvino), or None if not prepared/possible.
        hf_dir: a local Hugging Face model directory (for torch), or None.
        inputs: the model's inputs (from the ONNX graph or the HF model's forward signature).
        task: ``token-classification``, ``causal-lm``, ``sequence-classification``, … or ``unknown``.
        vocab_size: token ids are drawn from [0, vocab_size).
        size_mb: model size on disk (weights), MB.
        has_tokenizer: whether hf_dir holds a tokenizer (needed for ``--seq-dist file:``).
    """

    name: str
    kind: str
    onnx_path: str | None
    hf_dir: str | None
    inputs: tuple[InputSpec, ...]
    task: str = "unknown"
    vocab_size: int = 1000
    size_mb: float = 0.0
    has_tokenizer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    """What an engine reports after loading.

    Attributes:
        providers: execution providers / devices actually in use (e.g. ``["CPUExecutionProvider"]``).
        degraded: reasons the run is not what was asked (a requested provider fell back, …).
        versions: backend package versions.
        details: anything else worth recording (effective threads, streams, …).
    """

    providers: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


# Load phases, in order, as the parent sees them (`BackendInfo.load_phase`): the host marks "start" when it spawns
# the child; the worker marks "import" before importing the backend, "first inference" before the first call;
# an engine's `load` marks "read" (model file → memory) and "compile" (session creation / compilation) itself.
LOAD_PHASES = ("start", "import", "read", "compile", "first inference")


class Engine(ABC):
    """One backend, living in a worker child process.

    `run` is the hot path: it is called between two `perf_counter_ns()` reads and must do nothing but
    the inference (inputs are pre-converted by `prepare_inputs`).
    """

    # Set by the worker: called with a phase name from LOAD_PHASES when loading enters it.
    phase_hook: Callable[[str], None] | None = None

    def mark_phase(self, name: str) -> None:
        """Report that loading entered phase `name` (one of LOAD_PHASES); a no-op outside a worker."""
        if self.phase_hook is not None:
            self.phase_hook(name)

    @abstractmethod
    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Load/compile the model with `options`; raise `EngineLoadError` with a clear message on failure."""

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> Any:
        """Convert one input dict into whatever `run` takes (done once per input, outside the timed loop)."""
        return inputs

    @abstractmethod
    def run(self, prepared: Any) -> Any:
        """Run one inference on prepared inputs and return the raw result (completed, synchronised)."""

    @abstractmethod
    def first_output(self, result: Any) -> np.ndarray:
        """The first output of `result` as a float32 numpy array (for output parity)."""

    def close(self) -> None:
        """Release resources (optional)."""
        return None


class EngineLoadError(Exception):
    """Raised by an engine's `load` with a message naming the problem and what to do."""


@dataclass(frozen=True)
class BackendEntry:
    """Registry entry: how to find and describe one backend.

    Attributes:
        name: canonical name.
        aliases: other accepted names.
        module: module holding the engine class.
        class_name: the Engine subclass.
        requires: import names that must be importable.
        needs: ``onnx`` (needs an ONNX file), ``hf`` (needs a HF dir) or ``none``.
        description: one line for --help and `doctor`.
    """

    name: str
    aliases: tuple[str, ...]
    module: str
    class_name: str
    requires: tuple[str, ...]
    needs: str
    description: str


BACKENDS: dict[str, BackendEntry] = {
    "onnxruntime": BackendEntry(
        "onnxruntime",
        ("ort",),
        "infbench.engines.onnxruntime",
        "OnnxRuntimeEngine",
        ("onnxruntime",),
        "onnx",
        "ONNX Runtime InferenceSession (CPU; CUDA/TensorRT when the build offers them)",
    ),
    "openvino": BackendEntry(
        "openvino",
        ("ov",),
        "infbench.engines.openvino",
        "OpenVinoEngine",
        ("openvino",),
        "onnx",
        "OpenVINO compiled model, synchronous infer request (CPU; GPU/NPU when present)",
    ),
    "torch": BackendEntry(
        "torch",
        ("transformers", "pytorch", "pt"),
        "infbench.engines.torch",
        "TorchEngine",
        ("torch", "transformers"),
        "hf",
        "Hugging Face transformers on PyTorch eager, torch.inference_mode()",
    ),
    "null": BackendEntry(
        "null",
        ("noop",),
        "infbench.engines.null",
        "NullEngine",
        (),
        "none",
        "no-op control engine: measures the harness itself",
    ),
}


PLUGIN_ENV = "INFBENCH_ENGINE_PLUGINS"


def register_plugins(spec: str | None = None) -> list[str]:
    """Register extra engines from ``name=module:Class[:needs]`` entries, comma separated.

    Read from $INFBENCH_ENGINE_PLUGINS at import, so worker children (which inherit the environment) see the
    same registry. `needs` is ``onnx``, ``hf`` or ``none`` (default ``none``).
    """
    text = os.environ.get(PLUGIN_ENV, "") if spec is None else spec
    added = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, _, target = item.partition("=")
        module, _, rest = target.partition(":")
        class_name, _, needs = rest.partition(":")
        if not (name and module and class_name):
            raise BackendUnavailable(f"{PLUGIN_ENV}: {item!r} is not name=module:Class[:needs]")
        BACKENDS[name] = BackendEntry(name, (), module, class_name, (), needs or "none", f"plugin {module}")
        added.append(name)
    return added


def canonical_backend(name: str) -> str:
    """Map a name or alias to the canonical backend name; raise BackendUnavailable for unknown names."""
    key = name.strip().lower()
    for entry in BACKENDS.values():
        if key == entry.name or key in entry.aliases:
            return entry.name
    known = ", ".join(f"{e.name} ({'/'.join(e.aliases)})" for e in BACKENDS.values())
    raise BackendUnavailable(f"unknown backend {name!r}: choose from {known}")


def missing_packages(name: str) -> list[str]:
    """Import names required by backend `name` that cannot be found (without importing them)."""
    entry = BACKENDS[canonical_backend(name)]
    missing = []
    for mod in entry.requires:
        try:
            found = importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(mod)
    return missing


def installed_backends(include_null: bool = False) -> list[str]:
    """Canonical names of the backends whose packages are installed, in registry order."""
    return [n for n in BACKENDS if (include_null or n != "null") and not missing_packages(n)]


def require_backend(name: str) -> str:
    """Canonical name of `name`, raising BackendUnavailable with the pip command when it is not installed."""
    canon = canonical_backend(name)
    missing = missing_packages(canon)
    if missing:
        raise BackendUnavailable(
            f"backend {canon!r} is not installed (cannot import {', '.join(missing)}): "
            f"pip install {' '.join(_PIP_NAMES.get(m, m) for m in missing)}"
        )
    return canon


_PIP_NAMES = {
    "onnxruntime": "onnxruntime",
    "openvino": "openvino",
    "torch": "torch==2.13.0",
    "transformers": "transformers",
}


def load_engine_class(name: str) -> type[Engine]:
    """Import and return the Engine class of backend `name` (call inside the worker child only)."""
    entry = BACKENDS[canonical_backend(name)]
    module = importlib.import_module(entry.module)
    return getattr(module, entry.class_name)


register_plugins()
