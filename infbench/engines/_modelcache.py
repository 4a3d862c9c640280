"""Helpers of `models`: cache files and locks, building/exporting with torch, reading ONNX graphs.

Importing this module is cheap: torch, transformers and onnx are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infbench.engines._dedup import dedup_file
from infbench.engines._traceable import traceable_masks
from infbench.engines.base import InputSpec
from infbench.errors import ModelError

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows; builds are then unlocked
    fcntl = None  # type: ignore[assignment]

ONNX_NAME = "model.onnx"
EXPORT_META = "model.json"
# 2: each weight stored once (a head tied to the embedding is no longer written twice). Exports of models with
# an LM head made before are rebuilt on next use (`required_export_version`); the others stay valid.
EXPORT_VERSION = 2
_TIED_HEAD_TASKS = frozenset({"causal-lm", "masked-lm"})
ARCH = {"bert": "BertForTokenClassification", "gpt2": "GPT2LMHeadModel"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model", "vocab.json")
_TASK_SUFFIXES = (
    ("ForTokenClassification", "token-classification"),
    ("ForCausalLM", "causal-lm"),
    ("LMHeadModel", "causal-lm"),
    ("ForSequenceClassification", "sequence-classification"),
    ("ForMaskedLM", "masked-lm"),
    ("ForQuestionAnswering", "question-answering"),
)
AUTO_CLASSES = {
    "token-classification": "AutoModelForTokenClassification",
    "causal-lm": "AutoModelForCausalLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "masked-lm": "AutoModelForMaskedLM",
    "question-answering": "AutoModelForQuestionAnswering",
    "feature-extraction": "AutoModel",
}
_TOKEN_LEVEL = {"token-classification", "causal-lm", "masked-lm", "feature-extraction"}
_NEEDS_TORCH = (
    "building or exporting models needs torch and transformers: pip install torch==2.13.0 transformers"
)


def task_from_architectures(archs: list[str]) -> str:
    """The task implied by a config's ``architectures`` (``feature-extraction`` for a bare model)."""
    for arch in archs:
        for suffix, task in _TASK_SUFFIXES:
            if arch.endswith(suffix):
                return task
    return "feature-extraction"


def token_inputs(type_ids: str | None) -> tuple[InputSpec, ...]:
    """The token inputs of a transformer: input_ids, attention_mask (and token_type_ids), int64 [batch, seq]."""
    names = ["input_ids", "attention_mask"] + ([type_ids] if type_ids else [])
    return tuple(InputSpec(n, "int64", ("batch", "seq")) for n in names)


def inputs_to_json(inputs: tuple[InputSpec, ...]) -> list[dict[str, Any]]:
    """JSON form of input specs."""
    return [{"name": i.name, "dtype": i.dtype, "shape": list(i.shape)} for i in inputs]


def inputs_from_json(items: list[dict[str, Any]]) -> tuple[InputSpec, ...]:
    """Inverse of `inputs_to_json`."""
    return tuple(InputSpec(i["name"], i["dtype"], tuple(i["shape"])) for i in items)


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file + os.replace)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def hf_ready(hf_dir: Path) -> bool:
    """Whether a built HF directory is complete (it appears only by an atomic rename)."""
    return (hf_dir / "config.json").is_file()


def onnx_ready(root: Path, min_version: int = 1) -> bool:
    """Whether `root` holds a finished ONNX export and its metadata, of export format >= `min_version`."""
    if not ((root / ONNX_NAME).is_file() and (root / EXPORT_META).is_file()):
        return False
    return min_version <= 1 or export_version(root) >= min_version


def export_version(root: Path) -> int:
    """The export format that wrote `root`'s export (1 for exports from before versions were recorded)."""
    try:
        return int(json.loads((root / EXPORT_META).read_text()).get("export_version", 1))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.debug("unreadable export metadata in %s: %s", root, exc)
        return 0


def required_export_version(task: str) -> int:
    """The oldest export format still valid for a model of `task`: heads that may tie the embedding need 2."""
    return EXPORT_VERSION if task in _TIED_HEAD_TASKS else 1


def read_export_meta(root: Path) -> dict[str, Any]:
    """The metadata written next to an export: inputs (as InputSpecs) and size_mb."""
    meta = json.loads((root / EXPORT_META).read_text())
    meta["inputs"] = inputs_from_json(meta["inputs"])
    return meta


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock for building into `root` (other processes wait, then find it built)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def atomic_dir(final: Path, build: Callable[[Path], None]) -> None:
    """Run `build(tmp_dir)` and rename the result to `final`; nothing is left behind on failure."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        build(tmp)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_builtin(family: str, config: dict[str, Any], seed: int, dest: Path) -> None:
    """Instantiate a built-in from its config with random weights from `seed`; save_pretrained to `dest`."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ModelError(_NEEDS_TORCH) from exc
    transformers.logging.disable_progress_bar()
    cfg_class = transformers.BertConfig if family == "bert" else transformers.GPT2Config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(transformers, ARCH[family])(cfg_class(**config))
    model.eval().save_pretrained(str(dest))
    os.chmod(dest, 0o755)


def load_hf_model(hf_dir: str | Path, task: str) -> Any:
    """Load a local HF model for `task` (no download, no remote code), in eval mode."""
    import transformers

    transformers.logging.disable_progress_bar()
    auto = getattr(transformers, AUTO_CLASSES.get(task, "AutoModel"))
    model = auto.from_pretrained(str(hf_dir), local_files_only=True, trust_remote_code=False)
    return model.eval()


def export_onnx(hf_dir: Path, task: str, input_names: list[str], root: Path) -> None:
    """Export `hf_dir` to ``root/model.onnx`` (TorchScript exporter, opset 17, dynamic batch/seq).

    Each weight is stored once (`_dedup`): a head tied to the embedding reads the embedding's initializer.
    The metadata (inputs, size, export format, shared weights) is written after the model file, so an
    interrupted re-export is redone rather than trusted.
    """
    try:
        import torch
    except ImportError as exc:
        raise ModelError(_NEEDS_TORCH) from exc
    model = load_hf_model(hf_dir, task)

    class FirstOutput(torch.nn.Module):
        """Positional inputs → the model's first output (logits), without a KV cache."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            kwargs = dict(zip(input_names, args))
            if task == "causal-lm":
                kwargs["use_cache"] = False
            return self.model(**kwargs, return_dict=True)[0]

    vocab = int(getattr(model.config, "vocab_size", 1000) or 1000)
    gen = torch.Generator().manual_seed(0)
    mask = torch.ones(2, 8, dtype=torch.int64)
    mask[1, 5:] = 0  # a padded row, so no all-ones shortcut is traced into the graph
    dummy = {"input_ids": torch.randint(0, min(vocab, 1000), (2, 8), generator=gen), "attention_mask": mask}
    args = tuple(dummy.get(n, torch.zeros(2, 8, dtype=torch.int64)) for n in input_names)
    out_name = "last_hidden_state" if task == "feature-extraction" else "logits"
    axes = {n: {0: "batch", 1: "seq"} for n in input_names}
    axes[out_name] = {0: "batch", 1: "seq"} if task in _TOKEN_LEVEL else {0: "batch"}
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=root)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad(), traceable_masks():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                FirstOutput(),
                args,
                tmp,
                input_names=input_names,
                output_names=[out_name],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
                do_constant_folding=True,
            )
        shared = dedup_file(Path(tmp))
        info = inspect_onnx(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, root / ONNX_NAME)
        meta = {
            "inputs": inputs_to_json(info["inputs"]),
            "size_mb": info["size_mb"],
            "export_version": EXPORT_VERSION,
            "shared_weights": [
                {"dropped": w.dropped, "kept": w.kept, "how": w.how, "mb": w.mb} for w in shared
            ],
        }
        write_json(root / EXPORT_META, meta)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"ONNX export of {hf_dir} failed: {type(exc).__name__}: {_first_line(exc)}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def describe_hf(path: Path) -> dict[str, Any]:
    """Task, vocab size, max positions, labels and inputs of a local HF directory (reads config.json)."""
    try:
        from transformers import AutoConfig
    except ImportError as exc:
        raise ModelError(
            "reading a Hugging Face model directory needs transformers: pip install transformers"
        ) from exc
    try:
        cfg = AutoConfig.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        raise ModelError(f"{path}/config.json cannot be used: {_first_line(exc)}") from exc
    archs = list(getattr(cfg, "architectures", None) or [])
    task = task_from_architectures(archs)
    type_ids = "token_type_ids" if getattr(cfg, "type_vocab_size", None) else None
    return {
        "task": task,
        "vocab_size": getattr(cfg, "vocab_size", None),
        "max_positions": getattr(cfg, "max_position_embeddings", None),
        "num_labels": getattr(cfg, "num_labels", None) if "classification" in task else None,
        "architectures": archs,
        "inputs": inputs_to_json(token_inputs(type_ids)),
    }


def inspect_onnx(path: Path) -> dict[str, Any]:
    """Inputs (symbolic dims as strings), size with external data, and a vocab guess of an ONNX file."""
    try:
        import onnx
    except ImportError as exc:
        raise ModelError("reading .onnx files needs the onnx package: pip install onnx") from exc
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"{path} is not a valid ONNX model: {_first_line(exc)}") from exc
    graph = model.graph
    if not graph.node or not graph.input or not model.opset_import:
        raise ModelError(
            f"{path} is not a valid ONNX model: it holds no graph (empty, truncated or another format)"
        )
    size = path.stat().st_size
    locations: set[str] = set()
    for init in graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            locations.update(e.value for e in init.external_data if e.key == "location")
    for loc in sorted(locations):
        ext = path.parent / loc
        if not ext.is_file():
            raise ModelError(f"{path}: its external data file {ext} is missing")
        size += ext.stat().st_size
    init_dims = {i.name: list(i.dims) for i in graph.initializer}
    inputs = []
    for inp in graph.input:
        if inp.name in init_dims:
            continue
        tt = inp.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name
        dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim)
        inputs.append(InputSpec(inp.name, dtype, dims))
    int_inputs = {i.name for i in inputs if i.dtype.startswith("int")}
    tables = {
        n.input[1]: init_dims[n.input[0]][0]
        for n in graph.node
        if n.op_type == "Gather"
        and len(n.input) > 1
        and n.input[1] in int_inputs
        and n.input[0] in init_dims
        and init_dims[n.input[0]]
    }
    ids = [v for k, v in tables.items() if "input_ids" in k]
    vocab = min(ids) if ids else max(tables.values(), default=100)
    return {"inputs": tuple(inputs), "size_mb": round(size / 1e6, 2), "vocab_size": vocab}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
