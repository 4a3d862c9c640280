"""What the Optimum wrapper engines share: the cached export, offline loading, refusal of remote code, the
task → ``ORTModelFor*`` / ``OVModelFor*`` class, and the calls (a forward pass, or greedy ``generate``).

The wrappers are timed the way their users call them: torch tensors in (converted once, outside the timed
loop), ``model(**inputs)`` or ``model.generate(...)`` out. Their export (``from_pretrained(export=True)`` then
``save_pretrained``) is cached under ``<cache>/optimum/<kind>-<model>-<key>/``, keyed by the HF directory's files
(names, sizes, mtimes), the task, the KV cache and the library versions, built once under a lock and renamed into
place, so a second run only loads it. Optimum and its backend are imported inside functions: importing this
module is cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from infbench.engines import _modelcache as mc
from infbench.engines._tokenclock import TokenClock
from infbench.engines.base import Engine, EngineLoadError, ModelFiles

log = logging.getLogger(__name__)

EXPORT_DIR = "optimum"
EXPORT_META = "infbench-export.json"
_FORMAT = 1  # bump when the export call or the cache layout changes
# model task → the class suffix of ORTModelFor* / OVModelFor*
TASK_CLASSES = {
    "token-classification": "ForTokenClassification",
    "sequence-classification": "ForSequenceClassification",
    "feature-extraction": "ForFeatureExtraction",
    "causal-lm": "ForCausalLM",
}
TASKS = tuple(TASK_CLASSES)
GENERATE = "generate"  # WorkloadSpec.task of a generation workload
HF_KWARGS: dict[str, Any] = {"local_files_only": True, "trust_remote_code": False}  # every from_pretrained
_QUIET = ("optimum", "transformers", "nncf")  # loggers that advise at WARNING while exporting and loading


@dataclass(frozen=True)
class Export:
    """A cached Optimum export: the directory ``from_pretrained`` loads, and whether this load built it."""

    path: Path
    built: bool

    @property
    def cache(self) -> str:
        """``built`` or ``reused`` (for `LoadResult.details`)."""
        return "built" if self.built else "reused"


@dataclass(frozen=True)
class Target:
    """What one Optimum load exports and loads: the HF directory, the task, generate mode and the wrapper's
    extra ``from_pretrained`` arguments (``use_cache`` for a causal LM)."""

    hf_dir: str
    task: str
    generating: bool
    extra: dict[str, Any]


@dataclass
class GenerateInputs:
    """One prepared input of generate mode: the tensors for ``generate`` and the prompt's length."""

    kwargs: dict[str, Any]
    prompt_len: int


def refuse_remote_code(hf_dir: str, engine: str) -> None:
    """EngineLoadError in one line when the directory's config.json asks for remote code (``auto_map``)."""
    config = Path(hf_dir) / "config.json"
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise EngineLoadError(f"{engine}: cannot read {config}: {exc}") from exc
    if isinstance(data, dict) and data.get("auto_map"):
        classes = ", ".join(sorted(data["auto_map"])) if isinstance(data["auto_map"], dict) else "auto_map"
        raise EngineLoadError(
            f"{hf_dir} asks for remote code (config.json auto_map: {classes}) and {engine} never runs code "
            "from a model directory (trust_remote_code is off): use a model transformers implements"
        )


def hf_dir_of(model: ModelFiles, engine: str) -> str:
    """The model's local HF directory, or an EngineLoadError naming what the engine needs."""
    if not model.hf_dir:
        raise EngineLoadError(
            f"{engine} needs a Hugging Face model directory (it exports it itself) and model {model.name} has none"
        )
    return model.hf_dir


def is_generate(workload: dict[str, Any]) -> bool:
    """Whether the variant's workload asks for generation (``task=generate``)."""
    return str(workload.get("task", "")) == GENERATE


def wrapper_class(module: Any, prefix: str, task: str, engine: str) -> Any:
    """``<prefix>For<Task>`` of `module` for model `task`; EngineLoadError naming the tasks it supports."""
    suffix = TASK_CLASSES.get(task)
    if suffix is None:
        raise EngineLoadError(
            f"{engine} runs {', '.join(TASKS)} models and this one is {task}: use onnxruntime or openvino"
        )
    return getattr(module, prefix + suffix)


def versions(*dists: str) -> dict[str, str]:
    """Installed versions of distributions `dists` (those installed)."""
    out = {}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            log.debug("%s is not installed", dist)
    return out


def export_dir(kind: str, model: ModelFiles, task: str, use_cache: bool, libs: dict[str, str]) -> Path:
    """Where the `kind` export of `model` for `task` (with a KV cache or not) is cached."""
    from infbench.engines.models import cache_root

    hf = Path(str(model.hf_dir)).resolve()
    files = sorted(p for p in hf.rglob("*") if p.is_file() and not p.name.startswith("."))
    stat = [(str(p.relative_to(hf)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    blob = json.dumps(
        {"hf": str(hf), "files": stat, "task": task, "kv": use_cache, "libs": libs, "format": _FORMAT},
        sort_keys=True,
    )
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", model.name)[-50:]
    return cache_root() / EXPORT_DIR / f"{kind}-{name}-{key}"


def cached_export(root: Path, build: Callable[[Path], None], settings: dict[str, Any]) -> Export:
    """The export in `root`, made by ``build(tmp_dir)`` (under a lock, renamed into place) when not there."""
    if (root / EXPORT_META).is_file():
        return Export(root, False)
    with mc.locked(root):
        if (root / EXPORT_META).is_file():
            return Export(root, False)

        def build_all(tmp: Path) -> None:
            build(tmp)
            mc.write_json(tmp / EXPORT_META, settings)  # last: its presence means the export is complete

        log.info("exporting to %s", root)
        mc.atomic_dir(root, build_all)
    return Export(root, True)


@contextmanager
def quiet_loggers() -> Iterator[None]:
    """Optimum and transformers log advice at WARNING while exporting and loading local directories (e.g. that
    a local path has no hub cache entry), and the exporter's tracer warns: keep both out of the child's log
    unless it is an error."""
    loggers = [logging.getLogger(name) for name in _QUIET]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # the tracer's warnings about the export are not the user's business
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (300 characters at most)."""
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


class OptimumEngine(Engine):
    """Shared call path of the Optimum wrappers: `load` is the engine's; inputs, calls and outputs are here.

    Forward mode: ``model(**tensors)``, the first output (logits, or the hidden states of a feature extractor)
    as float32. Generate mode (workload ``task=generate``): ``model.generate`` greedy with exactly
    ``new_tokens`` new tokens, a `TokenClock` as streamer (one stamp per decoding step), the new token ids of the
    call as the output (parity is token agreement).
    """

    model: Any = None
    generating: bool = False
    input_names: frozenset[str] = frozenset()

    def _target(self, model: ModelFiles) -> Target:
        """The HF directory (remote code refused), the task (``causal-lm`` in generate mode) and extras."""
        name = self.info.name
        hf_dir = hf_dir_of(model, name)
        refuse_remote_code(hf_dir, name)
        generating = is_generate(self.workload)
        if generating and model.task != "causal-lm":
            raise EngineLoadError(
                f"{name}: --task generate needs a causal LM and {model.name} is {model.task}"
            )
        task = "causal-lm" if generating else model.task
        return Target(hf_dir, task, generating, {"use_cache": generating} if task == "causal-lm" else {})

    def _export(
        self,
        model: ModelFiles,
        target: Target,
        kind: str,
        what: str,
        libs: dict[str, str],
        build: Callable[[Path], None],
        settings: dict[str, Any],
    ) -> Export:
        """The cached Optimum export `kind` of `model` for these library versions (built by ``build(tmp)``
        when absent, `settings` recorded beside it); `what` names the exporter in the one-line error."""
        try:
            with quiet_loggers():
                root = export_dir(kind, model, target.task, target.generating, libs)
                return cached_export(root, build, {**settings, **libs})
        except Exception as exc:  # the exporters raise whatever torch / onnx / openvino raise
            log.debug("%s failed", what, exc_info=True)
            raise EngineLoadError(
                f"{self.info.name}: {what} of {target.hf_dir} failed: {type(exc).__name__}: {first_line(exc)}"
            ) from exc

    def _setup_calls(self, model: Any, generating: bool) -> dict[str, Any]:
        """Remember the loaded wrapper and, in generate mode, the clock and ``generate`` arguments; the
        call-path details to report."""
        self.model = model
        self.generating = generating
        self.input_names = frozenset(getattr(model, "input_names", None) or ())
        self.clock = TokenClock()
        details: dict[str, Any] = {"mode": GENERATE if generating else "forward"}
        if generating:
            new_tokens = int(self.workload.get("new_tokens", 32))
            config = getattr(model, "generation_config", None) or getattr(model, "config", None)
            eos = getattr(config, "eos_token_id", None)
            pad = getattr(config, "pad_token_id", None)
            if pad is None:  # generate would log "Setting pad_token_id…" on every call
                pad = eos[0] if isinstance(eos, list) else (eos if eos is not None else 0)
            self._generate_kwargs = {
                "max_new_tokens": new_tokens,
                "min_new_tokens": new_tokens,
                "do_sample": False,
                "num_beams": 1,
                "use_cache": True,  # the built-in GPT-2's config says False (prefill exports have no KV cache)
                "pad_token_id": pad,
                "streamer": self.clock,
            }
            details.update({"new_tokens": new_tokens, "use_cache": True, "decoding": "greedy"})
        return details

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> Any:
        """numpy → torch tensors once (the model's inputs only); in generate mode with the prompt length."""
        import torch

        tensors = {  # copies numpy owns (the worker's arrays live in read-only unpickled buffers)
            k: torch.from_numpy(np.array(v, copy=True, order="C"))
            for k, v in inputs.items()
            if not self.input_names or k in self.input_names
        }
        if not self.generating:
            return tensors
        if "input_ids" not in tensors:
            raise ValueError("generate mode needs input_ids in the workload's inputs")
        return GenerateInputs(tensors, int(tensors["input_ids"].shape[-1]))

    def run(self, prepared: Any) -> Any:
        """One forward pass, or one greedy ``generate`` call (returns the sequences and the prompt length)."""
        if self.generating:
            return self.model.generate(**prepared.kwargs, **self._generate_kwargs), prepared.prompt_len
        return self.model(**prepared)

    def first_output(self, result: Any) -> np.ndarray:
        """Forward: logits (or the first output) as float32. Generate: the call's new token ids as float32."""
        if self.generating:
            sequences, prompt_len = result
            return np.asarray(sequences[:, prompt_len:].cpu().numpy(), dtype=np.float32)
        first = getattr(result, "logits", None)
        if first is None:
            first = result[0]
        return np.asarray(first.detach().float().cpu().numpy(), dtype=np.float32)

    def emits_tokens(self) -> bool:
        """True in generate mode: every call stamps each decoding step."""
        return self.generating

    def take_tokens(self) -> np.ndarray:
        """The decoding-step stamps of the last call (int64 perf_counter_ns), one per new token."""
        return self.clock.take()

    def close(self) -> None:
        """Drop the wrapper model."""
        self.model = None
