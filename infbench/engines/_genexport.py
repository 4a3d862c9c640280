"""Exports of causal models for the generation runtimes, cached next to the model's other exports.

`ov_genai_dir`: an OpenVINO IR with past key/values (Optimum Intel's exporter, weights kept in f32: no 8-bit
compression) plus the tokenizer and detokenizer converted by openvino-tokenizers — the folder
`openvino_genai.LLMPipeline` reads. Built-ins use their offline-trained tokenizer (`engines.corpus`); a local HF
directory must hold its own. Everything heavy is imported inside the functions, in the engine's child.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from infbench.engines import _modelcache as mc
from infbench.engines.base import EngineLoadError, ModelFiles
from infbench.engines.models import cache_root

log = logging.getLogger(__name__)

GENAI_FORMAT = 1  # bump when the export changes: cached folders are rebuilt
OV_GENAI_FILES = ("openvino_model.xml", "openvino_tokenizer.xml", "openvino_detokenizer.xml")
_VERSIONED = ("transformers", "optimum-intel", "openvino", "openvino-tokenizers")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def _source_key(hf_dir: Path) -> str:
    """A key of the HF directory's files (names, sizes, mtimes) and of the exporting packages' versions."""
    files = sorted(p for p in hf_dir.iterdir() if p.is_file())
    stat = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    blob = json.dumps([str(hf_dir), stat, [_version(p) for p in _VERSIONED], GENAI_FORMAT])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def genai_root(model: ModelFiles, kind: str) -> Path:
    """Where the `kind` export (``ov-genai``) of `model` is cached: beside a built-in's files, else in the cache."""
    hf = Path(str(model.hf_dir))
    key = _source_key(hf)
    if model.kind == "builtin":  # <cache>/models/<name>-<key>/hf: keep the export beside it
        return hf.parent / f"{kind}-{key}"
    return cache_root() / kind / f"{hf.name}-{key}"


def ready(root: Path) -> bool:
    """Whether `root` holds a finished OpenVINO GenAI folder (it appears only by an atomic rename)."""
    return all((root / f).is_file() for f in OV_GENAI_FILES)


def ov_genai_dir(model: ModelFiles) -> Path:
    """The OpenVINO GenAI folder of causal model `model`, exported on first use (EngineLoadError if impossible)."""
    if not model.hf_dir:
        raise EngineLoadError(
            f"ov-genai needs a Hugging Face model directory and model {model.name} has none"
        )
    if model.task != "causal-lm":
        raise EngineLoadError(
            f"ov-genai runs causal language models and {model.name} is a {model.task} model: "
            "use a causal LM (gpt2-tiny, gpt2-small or a local *ForCausalLM directory)"
        )
    root = genai_root(model, "ov-genai")
    if ready(root):
        return root
    with mc.locked(root):
        if not ready(root):
            log.info("exporting %s for OpenVINO GenAI into %s", model.name, root)
            mc.atomic_dir(root, lambda tmp: _export_ov(model, tmp))
    return root


def _tokenizer(model: ModelFiles) -> Any:
    """The model's HF tokenizer: a built-in's offline-trained one, or the one in the local directory."""
    import transformers

    if model.kind == "builtin":
        from infbench.engines.corpus import builtin_tokenizer_for

        path = str(builtin_tokenizer_for(model.name))
    elif model.has_tokenizer:
        path = str(model.hf_dir)
    else:
        raise EngineLoadError(
            f"ov-genai needs a tokenizer and {model.hf_dir} has none (tokenizer.json / vocab files): "
            "save the model's tokenizer into it with save_pretrained"
        )
    return transformers.AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)


def _export_ov(model: ModelFiles, dest: Path) -> None:
    """Export the IR (with KV cache) and convert the tokenizer pair into `dest`."""
    import openvino as ov
    from openvino_tokenizers import convert_tokenizer
    from optimum.intel import OVModelForCausalLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's TracerWarnings: expected for this export
        try:
            exported = OVModelForCausalLM.from_pretrained(
                str(model.hf_dir),
                export=True,
                compile=False,
                use_cache=True,
                load_in_8bit=False,  # f32 weights: the IR stays comparable with the other engines
                local_files_only=True,
                trust_remote_code=False,
            )
            exported.save_pretrained(str(dest))
        except Exception as exc:  # the exporter raises many types; all mean "no IR for this model"
            raise EngineLoadError(
                f"exporting {model.name} to OpenVINO IR failed: {_first_line(exc)}"
            ) from exc
    tok = _tokenizer(model)
    try:
        tokenizer, detokenizer = convert_tokenizer(tok, with_detokenizer=True)
    except Exception as exc:  # openvino-tokenizers raises OVTypeError/… for tokenizers it cannot convert
        raise EngineLoadError(
            f"openvino-tokenizers cannot convert the tokenizer of {model.name}: {_first_line(exc)}"
        ) from exc
    ov.save_model(tokenizer, str(dest / "openvino_tokenizer.xml"))
    ov.save_model(detokenizer, str(dest / "openvino_detokenizer.xml"))
    tok.save_pretrained(str(dest))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
