"""Models: the built-in offline family, resolving a model argument, and preparing files for engines.

A built-in is materialised once into the cache as a Hugging Face directory (config + random weights from a
fixed seed), then exported to ONNX from that very directory, so torch, ONNX Runtime and OpenVINO run identical
weights. A local HF directory gets its ONNX export cached the same way. When everything is cached, preparing a
model reads small JSON files only: torch and transformers are imported solely to build or export.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from infbench.engines import _modelcache as mc
from infbench.engines.base import ModelFiles
from infbench.errors import ModelError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuiltinModel:
    """A built-in model: a transformers config instantiated with random weights (no download, ever).

    Attributes:
        name: the name users type (``bert-small``).
        family: ``bert`` | ``gpt2``.
        task: ``token-classification`` | ``causal-lm``.
        description: one line for the `models` listing.
        config: transformers config kwargs.
        approx_params: parameter count computed from `config`.
    """

    name: str
    family: str
    task: str
    description: str
    config: dict[str, Any]
    approx_params: int

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def layers(self) -> int:
        """Number of transformer layers."""
        return int(self.config.get("num_hidden_layers", self.config.get("n_layer", 0)))

    @property
    def hidden(self) -> int:
        """Hidden size."""
        return int(self.config.get("hidden_size", self.config.get("n_embd", 0)))


def _bert(name: str, hidden: int, layers: int, heads: int, description: str) -> BuiltinModel:
    config = {
        "vocab_size": 30522,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": 4 * hidden,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "num_labels": 9,
    }
    v, h, i = 30522, hidden, 4 * hidden
    params = (v + 512 + 2) * h + 2 * h + layers * (4 * h * h + 2 * h * i + 9 * h + i) + 9 * h + 9
    return BuiltinModel(name, "bert", "token-classification", description, config, params)


def _gpt2(name: str, hidden: int, layers: int, heads: int, description: str) -> BuiltinModel:
    config = {
        "vocab_size": 50257,
        "n_embd": hidden,
        "n_layer": layers,
        "n_head": heads,
        "n_positions": 1024,
        "use_cache": False,
    }
    h = hidden
    params = (50257 + 1024) * h + layers * (12 * h * h + 13 * h) + 2 * h
    return BuiltinModel(name, "gpt2", "causal-lm", description, config, params)


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.name: m
    for m in (
        _bert("bert-tiny", 128, 2, 2, "tiny BERT token classifier: tests, smoke runs"),
        _bert("bert-small", 256, 4, 4, "small BERT token classifier, ~10-15 ms/call at seq 128 on 1 core"),
        _bert("bert-base", 768, 12, 12, "BERT-base token classifier, 9 labels as in NER"),
        _gpt2("gpt2-small", 768, 12, 12, "GPT-2 small causal LM, prefill logits"),
        _gpt2("gpt2-tiny", 64, 2, 2, "tiny GPT-2 causal LM: generation tests, smoke runs"),
    )
}
SEED = 1234
EXPORT_REQUIRES = ("torch", "transformers")  # building a built-in and exporting to ONNX import these
_FORMAT = 1  # bump when the cache layout or the export changes


@dataclass(frozen=True)
class ModelSource:
    """What a model argument refers to: a built-in name, a ``.onnx`` file or a local HF model directory."""

    kind: str
    name: str
    path: str | None
    builtin: BuiltinModel | None


def cache_root() -> Path:
    """The cache directory: $INFBENCH_CACHE_DIR, else $XDG_CACHE_HOME/infbench, else ~/.cache/infbench."""
    if os.environ.get("INFBENCH_CACHE_DIR"):
        return Path(os.environ["INFBENCH_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "infbench"


def resolve_model(spec: str) -> ModelSource:
    """Turn a model argument into a ModelSource; ModelError with one actionable line otherwise."""
    if spec in BUILTIN_MODELS:
        return ModelSource("builtin", spec, None, BUILTIN_MODELS[spec])
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".onnx":
            raise ModelError(
                f"{spec} is not an .onnx file: pass a .onnx model, a local Hugging Face model "
                "directory or a built-in name (see `infbench-tui models`)"
            )
        return ModelSource("onnx", path.name, str(path.resolve()), None)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{spec} is a directory without config.json: pass a local Hugging Face model "
                "directory (saved with save_pretrained) or a .onnx file"
            )
        return ModelSource("hf", path.resolve().name, str(path.resolve()), None)
    names = ", ".join(BUILTIN_MODELS)
    if spec.lower().endswith(".onnx") or spec.startswith((".", "~")) or "/" in spec or os.sep in spec:
        raise ModelError(
            f"model path {spec} does not exist (nothing is ever downloaded: pass a local .onnx "
            "file or Hugging Face model directory)"
        )
    close = difflib.get_close_matches(spec, list(BUILTIN_MODELS), n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise ModelError(
        f"unknown model {spec!r}: {hint}built-ins are {names}; or pass a path to a .onnx file or "
        "a local Hugging Face model directory (nothing is ever downloaded)"
    )


def model_kind(spec: str) -> str | None:
    """``builtin``, ``onnx`` or ``hf`` for a usable model argument, None when `resolve_model` would refuse it."""
    try:
        return resolve_model(spec).kind
    except ModelError:
        return None


def _builtin_key(model: BuiltinModel) -> str:
    try:
        tf_version = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        tf_version = "none"
    blob = json.dumps(
        {
            "family": model.family,
            "task": model.task,
            "config": model.config,
            "seed": SEED,
            "transformers": tf_version,
            "format": _FORMAT,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _builtin_dir(model: BuiltinModel) -> Path:
    return cache_root() / "models" / f"{model.name}-{_builtin_key(model)}"


def is_cached(name: str) -> bool:
    """Whether built-in `name` is already materialised (HF weights and a current ONNX export) in the cache."""
    model = BUILTIN_MODELS.get(name)
    if model is None:
        return False
    d = _builtin_dir(model)
    return mc.hf_ready(d / "hf") and _export_current(d, model.task)


@dataclass(frozen=True)
class DiskUsage:
    """What a built-in takes in the cache, in MB; None for a part not built yet.

    Attributes:
        hf_mb: the Hugging Face weights (``*.safetensors`` / ``*.bin``).
        onnx_mb: the ONNX export (with any external data).
        onnx_outdated: the export there is from an older export format; it is rebuilt on next use.
    """

    hf_mb: float | None
    onnx_mb: float | None
    onnx_outdated: bool = False


def disk_usage(name: str) -> DiskUsage:
    """Sizes on disk of built-in `name`'s cached files (reads file sizes and a small JSON file only)."""
    model = BUILTIN_MODELS[name]
    root = _builtin_dir(model)
    hf = root / "hf"
    hf_mb = _weights_mb(hf) if mc.hf_ready(hf) else None
    if not mc.onnx_ready(root):
        return DiskUsage(hf_mb, None)
    size = mc.read_export_meta(root).get("size_mb")
    onnx_mb = float(size) if size is not None else round((root / mc.ONNX_NAME).stat().st_size / 1e6, 2)
    return DiskUsage(hf_mb, onnx_mb, onnx_outdated=not _export_current(root, model.task))


def _weights_mb(hf: Path) -> float:
    """Size of the weight files of a HF directory, in MB."""
    return round(sum(p.stat().st_size for p in hf.iterdir() if p.suffix in (".safetensors", ".bin")) / 1e6, 2)


def _export_current(root: Path, task: str) -> bool:
    """Whether `root` holds an ONNX export in a format still valid for a model of `task`."""
    return mc.onnx_ready(root, mc.required_export_version(task))


def prepare_model(
    source: ModelSource | str, need_onnx: bool, need_hf: bool, progress: Progress | None = None
) -> ModelFiles:
    """Make the model's files exist locally (building/exporting on first use) and describe them.

    Args:
        source: a ModelSource or a model argument for `resolve_model`.
        need_onnx: an ONNX file is required (onnxruntime, openvino).
        need_hf: a Hugging Face directory is required (torch).
        progress: receives short status lines while building/exporting.

    Raises:
        ModelError: the model cannot be used as asked.
    """
    src = resolve_model(source) if isinstance(source, str) else source
    say = progress or (lambda _msg: None)
    if src.kind == "onnx":
        if need_hf:
            raise ModelError(
                "the torch backend needs a Hugging Face model directory, not an .onnx file "
                f"({src.path}): drop torch or pass the model's HF directory"
            )
        info = mc.inspect_onnx(Path(str(src.path)))
        return ModelFiles(
            src.name,
            "onnx",
            src.path,
            None,
            info["inputs"],
            task="unknown",
            vocab_size=info["vocab_size"],
            size_mb=info["size_mb"],
        )
    if src.kind == "builtin":
        assert src.builtin is not None
        return _prepare_builtin(src.builtin, need_onnx, say)
    if src.kind == "hf":
        return _prepare_hf(Path(str(src.path)), need_onnx, say)
    raise ModelError(f"unknown model kind {src.kind!r}")


def _prepare_builtin(model: BuiltinModel, need_onnx: bool, say: Progress) -> ModelFiles:
    root = _builtin_dir(model)
    hf = root / "hf"
    meta = {
        "task": model.task,
        "vocab_size": model.config["vocab_size"],
        "max_positions": model.config.get("max_position_embeddings", model.config.get("n_positions")),
        "num_labels": model.config.get("num_labels"),
        "architectures": [mc.ARCH[model.family]],
        "inputs": mc.token_inputs("token_type_ids" if model.family == "bert" else None),
    }
    if not (mc.hf_ready(hf) and (not need_onnx or _export_current(root, model.task))):
        with mc.locked(root):
            if not mc.hf_ready(hf):
                say(f"building {model.name} (random weights, seed {SEED})…")
                mc.atomic_dir(hf, lambda tmp: mc.build_builtin(model.family, model.config, SEED, tmp))
            if need_onnx and not _export_current(root, model.task):
                say(f"exporting {model.name} to ONNX…")
                mc.export_onnx(hf, model.task, [i.name for i in meta["inputs"]], root)
            say(f"cached at {root}")
    return _files(model.name, "builtin", hf, root, meta, need_onnx, has_tokenizer=False)


def _hf_files(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def _hf_root(path: Path, files: list[Path]) -> Path:
    """The cache directory of a local HF directory's ONNX export (keyed by its files' names, sizes, mtimes)."""
    stat = [(str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.sha256(json.dumps([str(path), stat, _FORMAT]).encode()).hexdigest()[:12]
    return cache_root() / "hf" / f"{path.name}-{key}"


def backends_for_model(spec: str, candidates: list[str]) -> tuple[list[str], dict[str, str]]:
    """Which `candidates` (canonical backend names) can take model `spec`, and why each other one cannot.

    An .onnx file cannot go to a backend that needs a Hugging Face directory (torch). A built-in or HF
    directory reaches the ONNX backends through an export that needs torch + transformers, unless it is cached.
    Reads file names and sizes only; imports nothing heavy.

    Raises:
        ModelError: `spec` is not a usable model argument (see `resolve_model`).
    """
    from infbench.engines.registry import engine_info, missing_imports

    src = resolve_model(spec)
    export_missing = missing_imports(EXPORT_REQUIRES)
    takes: list[str] = []
    left_out: dict[str, str] = {}
    for name in candidates:
        needs = engine_info(name).needs
        if src.kind == "onnx" and needs == "hf":
            left_out[name] = (
                f"it needs a Hugging Face model directory, and {src.name} is an .onnx file "
                "(pass the model's HF directory to include it)"
            )
        elif (
            src.kind == "builtin"
            and needs != "none"
            and export_missing
            and src.builtin is not None
            and not is_cached(src.name)
        ):
            left_out[name] = (
                f"building built-in {src.name} needs {' and '.join(export_missing)} "
                "(pip install torch transformers)"
            )
        elif (
            src.kind == "hf"
            and needs == "onnx"
            and export_missing
            and not _hf_export_current(_hf_root(Path(str(src.path)), _hf_files(Path(str(src.path)))))
        ):
            left_out[name] = (
                f"it runs an ONNX export of {src.name}, and exporting needs "
                f"{' and '.join(export_missing)} (pip install torch transformers)"
            )
        else:
            takes.append(name)
    return takes, left_out


def _hf_export_current(root: Path) -> bool:
    """Whether a local HF directory's cache `root` holds a current export (its task is in meta.json)."""
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        return False
    return _export_current(root, str(json.loads(meta_path.read_text()).get("task", "")))


def _prepare_hf(path: Path, need_onnx: bool, say: Progress) -> ModelFiles:
    files = _hf_files(path)
    root = _hf_root(path, files)
    if not any(p.suffix in (".safetensors", ".bin") for p in files):
        raise ModelError(
            f"{path} has no weights (*.safetensors or *.bin): save the model with save_pretrained"
        )
    meta_path = root / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
    else:  # first sight of this directory: let transformers validate config.json once
        meta = mc.describe_hf(path)
        root.mkdir(parents=True, exist_ok=True)
        mc.write_json(meta_path, meta)
    meta["inputs"] = mc.inputs_from_json(meta["inputs"])
    if need_onnx and not _export_current(root, meta["task"]):
        with mc.locked(root):
            if not _export_current(root, meta["task"]):
                say(f"exporting {path.name} to ONNX…")
                mc.export_onnx(path, meta["task"], [i.name for i in meta["inputs"]], root)
                say(f"cached at {root}")
    has_tok = any((path / f).is_file() for f in mc.TOKENIZER_FILES)
    return _files(path.name, "hf", path, root, meta, need_onnx, has_tokenizer=has_tok)


def _files(
    name: str, kind: str, hf: Path, root: Path, meta: dict[str, Any], need_onnx: bool, has_tokenizer: bool
) -> ModelFiles:
    onnx_path = root / mc.ONNX_NAME
    inputs = mc.read_export_meta(root)["inputs"] if need_onnx else tuple(meta["inputs"])
    size = _weights_mb(hf)
    extra = {
        k: meta.get(k) for k in ("max_positions", "num_labels", "architectures") if meta.get(k) is not None
    }
    return ModelFiles(
        name,
        kind,
        str(onnx_path) if onnx_path.is_file() else None,
        str(hf),
        inputs,
        task=meta["task"],
        vocab_size=int(meta["vocab_size"] or 1000),
        size_mb=size,
        has_tokenizer=has_tokenizer,
        extra=extra,
    )


def check_shapes(model: ModelFiles, batch: int, seq: int) -> None:
    """Raise ModelError when the model cannot take `batch` × `seq` (static dims, max positions)."""
    for spec in model.inputs:
        if spec.shape and isinstance(spec.shape[0], int) and spec.shape[0] > 0 and spec.shape[0] != batch:
            raise ModelError(
                f"model input {spec.name!r} has a fixed batch size {spec.shape[0]}: "
                f"run with --batch {spec.shape[0]} (got {batch})"
            )
        token_like = spec.dtype.startswith(("int", "uint", "bool")) and len(spec.shape) == 2
        if token_like and isinstance(spec.shape[1], int) and spec.shape[1] > 0 and spec.shape[1] != seq:
            raise ModelError(
                f"model input {spec.name!r} has a fixed sequence length {spec.shape[1]}: "
                f"run with --seq {spec.shape[1]} (got {seq})"
            )
    max_pos = model.extra.get("max_positions")
    if max_pos and seq > int(max_pos):
        raise ModelError(
            f"--seq {seq} exceeds the model's maximum of {max_pos} positions: use --seq {max_pos} or less"
        )
