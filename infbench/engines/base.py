"""Engine protocol and the model files an engine loads.

This module is imported by the app *and* by every worker child, so it imports nothing heavy. The registry of
engines is `infbench.engines.registry`; each engine declares its `EngineInfo` (`infbench.engines.info`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from infbench.engines.info import EngineInfo


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
# an engine's `load` marks "read" (model file → memory), "quantize" (building, or finding cached, a quantized
# model) and "compile" (session creation / compilation) itself.
LOAD_PHASES = ("start", "import", "read", "quantize", "compile", "first inference")


class Engine(ABC):
    """One backend, living in a worker child process.

    `run` is the hot path: it is called between two `perf_counter_ns()` reads and must do nothing but
    the inference (inputs are pre-converted by `prepare_inputs`).
    """

    # What the engine is, takes and accepts: every concrete engine class declares it.
    info: ClassVar[EngineInfo]
    # Set by the worker: called with a phase name from LOAD_PHASES when loading enters it.
    phase_hook: Callable[[str], None] | None = None
    # Set by the worker before `load`: the workload's inputs (the same dicts `prepare_inputs` will get), so an
    # engine can compile for the real shapes or calibrate a quantization on the real data. Empty outside a worker.
    workload_inputs: list[dict[str, np.ndarray]] = []  # replaced per instance, never mutated
    # Set by the worker before `load`: the variant's workload (`plan.spec.WorkloadSpec.to_dict()`, its batch the
    # variant's): what a generating or text-taking engine needs beyond the inputs (new tokens, texts…).
    workload: dict[str, Any] = {}  # replaced per instance, never mutated

    def mark_phase(self, name: str) -> None:
        """Report that loading entered phase `name` (one of LOAD_PHASES); a no-op outside a worker."""
        if self.phase_hook is not None:
            self.phase_hook(name)

    @classmethod
    def import_backend(cls) -> None:
        """Import the backend package (the worker's "import" load phase); engines import theirs lazily."""
        return None

    @abstractmethod
    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Load/compile the model with `options`; raise `EngineLoadError` with a clear message on failure.

        `options` are already validated and typed against `info.options`, declared defaults filled in
        (`OptionSchema.resolve`): an engine checks only what needs its backend (a device this machine lacks).
        """

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> Any:
        """Convert one input dict into whatever `run` takes (done once per input, outside the timed loop)."""
        return inputs

    def prepare_all(self, inputs: list[dict[str, np.ndarray]]) -> list[Any]:
        """Convert the whole input cycle (the worker calls this once): by default `prepare_inputs` on each.

        A text engine overrides it to map the cycle to its texts (input i of the cycle → the texts of batch i).
        """
        return [self.prepare_inputs(x) for x in inputs]

    def call_parts(self) -> tuple[str, ...]:
        """Names of the per-call sub-timings (ns) this engine reports, known after `load` (default: none).

        When not empty, the worker calls `take_parts` after every timed call; e.g. a pipeline reports
        ``("tokenize", "infer", "post")``.
        """
        return ()

    def take_parts(self) -> tuple[int, ...]:
        """The last call's part durations in ns, in `call_parts` order (called after each `run`)."""
        return ()

    def emits_tokens(self) -> bool:
        """Whether each call generates tokens and `take_tokens` stamps them (default False)."""
        return False

    def take_tokens(self) -> np.ndarray:
        """int64 perf_counter_ns stamps of each decoding step of the last call (see `engines._tokenclock`)."""
        return np.empty(0, np.int64)

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
