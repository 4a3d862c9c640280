"""Workloads: the inputs every backend runs, identical and in the same order, deterministic from a seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infbench.engines.base import InputSpec, ModelFiles
from infbench.errors import ModelError
from infbench.plan.spec import WorkloadSpec


@dataclass(frozen=True)
class Inputs:
    """The input cycle of a run.

    Attributes:
        items: `cycle` input dicts (name → array with the model's dtype); with a corpus, one per `batch`
            consecutive texts (ceil(texts / batch) items).
        lengths: int64 sequence length of each item.
        tokens: int64 real (non-padding) tokens of each item: batch × length unless texts were padded.
    """

    items: list[dict[str, np.ndarray]]
    lengths: np.ndarray
    tokens: np.ndarray


def build_inputs(model: ModelFiles, workload: WorkloadSpec) -> Inputs:
    """Generate the inputs for `model`, deterministic from `workload.seed`.

    `workload.cycle` inputs, or with `workload.corpus` one per `batch` consecutive texts of the corpus.

    Raises:
        ModelError: the distribution needs something the model lacks (a tokenizer, dynamic lengths).
    """
    rng = np.random.default_rng(workload.seed)
    dist = workload.seq_dist
    generate = workload.task == "generate"
    if generate:
        rows: list[np.ndarray] | None = prompt_rows(model, workload) if workload.corpus else None
        dist = None
    elif workload.corpus:
        rows = corpus_rows(model, workload)
    elif dist and dist.startswith("file:"):
        rows = _file_rows(model, dist[len("file:") :], workload)
    else:
        rows = None
    if generate and rows is None:
        lengths = np.full(workload.cycle, workload.prompt_len, dtype=np.int64)
    elif rows is None:
        lengths = _lengths(dist, workload, rng)
        if workload.padding == "fixed" and dist:  # random lengths, each input padded (masked) to --seq
            rows = [_random_row(model, workload.batch, int(n), workload.seq, rng) for n in lengths]
            lengths = np.full(len(rows), workload.seq, dtype=np.int64)
    else:
        lengths = np.array([r.shape[1] for r in rows])
    static = _static_seq(model)
    if static is not None and np.any(lengths != static):
        raise ModelError(
            f"the model has a fixed sequence length {static}: use --seq {static} without --seq-dist"
        )
    items, tokens = [], []
    for i, length in enumerate(lengths):
        ids = rows[i] if rows is not None else None
        mask = (ids >= 0).astype(np.int64) if ids is not None else None
        item = {
            spec.name: _array(spec, model, workload.batch, int(length), rng, ids, mask)
            for spec in model.inputs
        }
        items.append(item)
        tokens.append(int(mask.sum()) if mask is not None else workload.batch * int(length))
    return Inputs(items, lengths.astype(np.int64), np.array(tokens, dtype=np.int64))


def _lengths(dist: str | None, workload: WorkloadSpec, rng: np.random.Generator) -> np.ndarray:
    n, seq = workload.cycle, workload.seq
    if not dist:
        return np.full(n, seq, dtype=np.int64)
    kind, _, arg = dist.partition(":")
    if kind == "uniform":
        lo, _, hi = arg.partition("-")
        lo_i, hi_i = int(lo), int(hi)
        if lo_i > hi_i:
            raise ModelError(f"--seq-dist {dist}: LO must not exceed HI")
        values = rng.integers(lo_i, hi_i + 1, size=n)
    elif kind == "normal":
        mean, _, std = arg.partition(",")
        values = np.rint(rng.normal(float(mean), float(std), size=n))
    else:
        raise ModelError(
            f"--seq-dist {dist!r} not understood: use uniform:LO-HI, normal:MEAN,STD or file:PATH"
        )
    return np.clip(values, 1, seq).astype(np.int64)


def _file_rows(model: ModelFiles, path_text: str, workload: WorkloadSpec) -> list[np.ndarray]:
    """Token id rows per item from a text file: [batch, length] with -1 marking padding."""
    path = Path(path_text).expanduser()
    if not path.exists():
        raise ModelError(f"--seq-dist file:{path_text}: the file {path.resolve()} does not exist")
    if not path.is_file():
        raise ModelError(f"--seq-dist file:{path_text}: {path.resolve()} is not a file (one text per line)")
    if not (model.has_tokenizer and model.hf_dir):
        kind = {"builtin": "built-in model", "onnx": "the .onnx file"}.get(model.kind, "model")
        raise ModelError(
            f"--seq-dist file:{path_text} needs a tokenizer to turn its texts into token ids, and "
            f"{kind} {model.name} has none: use --seq-dist uniform:LO-HI or normal:MEAN,STD, or a "
            "local Hugging Face model directory with tokenizer files"
        )
    lines = [
        ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()
    ]
    if not lines:
        raise ModelError(f"--seq-dist file: {path} has no non-empty lines")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(model.hf_dir, local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        raise ModelError(
            f"the tokenizer in {model.hf_dir} cannot be loaded: {str(exc).splitlines()[0]}"
        ) from exc
    need = workload.cycle * workload.batch
    texts = [lines[i % len(lines)] for i in range(need)]
    ids = tok(texts, add_special_tokens=True, truncation=True, max_length=workload.seq)["input_ids"]
    return [
        _padded(ids[i * workload.batch : (i + 1) * workload.batch], workload) for i in range(workload.cycle)
    ]


def _padded(batch: list[list[int]], workload: WorkloadSpec) -> np.ndarray:
    """Token id rows [batch, width], -1 marking padding (on the right): width the longest row, or `seq` with
    ``--padding fixed``."""
    width = max(1, max(len(r) for r in batch))
    if workload.padding == "fixed":
        width = max(width, workload.seq)
    row = np.full((len(batch), width), -1, dtype=np.int64)
    for j, r in enumerate(batch):
        row[j, : len(r)] = r
    return row


def _random_row(
    model: ModelFiles, batch: int, length: int, width: int, rng: np.random.Generator
) -> np.ndarray:
    """Random token ids [batch, length] padded with -1 to `width` (``--padding fixed`` with --seq-dist)."""
    row = np.full((batch, width), -1, dtype=np.int64)
    row[:, :length] = rng.integers(_low_id(model), max(int(model.vocab_size), 2), size=(batch, length))
    return row


def _low_id(model: ModelFiles) -> int:
    """The lowest random token id: skips the low ids (special and [unused] tokens in BERT-like vocabularies)."""
    return min(1000, max(int(model.vocab_size), 2) // 2)


def prompt_rows(model: ModelFiles, workload: WorkloadSpec) -> list[np.ndarray]:
    """Prompts of ``--task generate`` from the corpus: `cycle` items of [batch, prompt_len] token ids.

    The corpus's texts are tokenized in order and concatenated into one stream (wrapping to the start when it
    runs out); each row is the next `prompt_len` tokens of it. Every prompt is thus exactly `prompt_len` real
    tokens of real text: no padding, the attention mask all ones, the same positions on every backend.
    """
    from dataclasses import replace

    from infbench.engines.corpus import BUILTIN, builtin_corpus_file, load_corpus

    assert workload.corpus is not None
    if workload.corpus == BUILTIN:
        texts = load_corpus(builtin_corpus_file())
    else:
        texts = load_corpus(workload.corpus, workload.corpus_column)
    ids = _encode(model, texts, replace(workload, seq=10**9))
    stream = np.fromiter((t for r in ids for t in r), dtype=np.int64)
    if stream.size == 0:
        raise ModelError("--corpus: its texts give no tokens to make prompts of")
    n, width = workload.batch, workload.prompt_len
    need = workload.cycle * n * width
    stream = np.resize(stream, need)  # repeats the stream when the corpus is shorter
    return [stream[i * n * width : (i + 1) * n * width].reshape(n, width) for i in range(workload.cycle)]


def corpus_rows(model: ModelFiles, workload: WorkloadSpec) -> list[np.ndarray]:
    """Token id rows of a corpus workload: [batch, length] per item, -1 marking padding.

    The corpus is taken in order, `batch` consecutive texts per item (the last item wraps to the first texts),
    each text truncated at `workload.seq`, each item padded to its longest text (``padding=fixed``: to `seq`).

    Raises:
        ModelError: the model has no tokenizer (an .onnx file, an HF directory without tokenizer files).
        ConfigError: the corpus cannot be read.
    """
    from infbench.engines.corpus import BUILTIN, builtin_corpus_file, load_corpus

    assert workload.corpus is not None
    if workload.corpus == BUILTIN:
        texts = load_corpus(builtin_corpus_file())  # the cached JSONL: no faker needed once written
    else:
        texts = load_corpus(workload.corpus, workload.corpus_column)
    ids = _encode(model, texts, workload)
    n_items = -(-len(ids) // workload.batch)
    return [
        _padded([ids[(i * workload.batch + j) % len(ids)] for j in range(workload.batch)], workload)
        for i in range(n_items)
    ]


def _encode(model: ModelFiles, texts: list[str], workload: WorkloadSpec) -> list[list[int]]:
    """Token ids of each text with the model's tokenizer (its own, or the built-in one), at most `seq`."""
    from infbench.engines.corpus import builtin_tokenizer_for, load_tokenizer

    if model.has_tokenizer and model.hf_dir:
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(model.hf_dir, local_files_only=True, trust_remote_code=False)
        except Exception as exc:
            raise ModelError(
                f"the tokenizer in {model.hf_dir} cannot be loaded: {str(exc).splitlines()[0]}"
            ) from exc
        out = tok(texts, add_special_tokens=True, truncation=True, max_length=workload.seq)["input_ids"]
        return [list(r) for r in out]
    if model.kind == "builtin":
        fast = load_tokenizer(builtin_tokenizer_for(model.name))
        # Truncated as transformers truncates (the closing [SEP] kept), so a text longer than `seq` gets the same
        # ids here as through the model's tokenizer in a transformers pipeline.
        fast.enable_truncation(max_length=workload.seq)
        try:
            # one text at a time: encode_batch would start the tokenizers thread pool (see corpus_stats)
            return [fast.encode(t).ids for t in texts]
        finally:
            fast.no_truncation()
    raise ModelError(
        f"--corpus needs a tokenizer to turn its texts into token ids, and {model.name} has none: use a "
        "built-in model or a local Hugging Face model directory with tokenizer files, or --seq-dist"
    )


def _static_seq(model: ModelFiles) -> int | None:
    for spec in model.inputs:
        if (
            len(spec.shape) >= 2
            and isinstance(spec.shape[1], int)
            and spec.shape[1] > 0
            and spec.dtype.startswith(("int", "uint"))
        ):
            return spec.shape[1]
    return None


def _shape(spec: InputSpec, batch: int, length: int) -> tuple[int, ...]:
    dims = []
    for k, d in enumerate(spec.shape):
        if isinstance(d, int) and d > 0:
            dims.append(d)
        elif k == 0:
            dims.append(batch)
        else:
            # named like seq/sequence/length or anything else symbolic: the sequence length
            dims.append(length)
    return tuple(dims)


def _array(
    spec: InputSpec,
    model: ModelFiles,
    batch: int,
    length: int,
    rng: np.random.Generator,
    ids: np.ndarray | None,
    mask: np.ndarray | None,
) -> np.ndarray:
    shape = _shape(spec, batch, length)
    dtype = np.dtype(spec.dtype)
    name = spec.name.lower()
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return np.ones(shape, dtype=dtype)
    if "mask" in name:
        return (mask if mask is not None and mask.shape == shape else np.ones(shape)).astype(dtype)
    if "type" in name or "segment" in name:
        return np.zeros(shape, dtype=dtype)
    if "position" in name:
        return np.broadcast_to(np.arange(shape[-1]), shape).astype(dtype)
    if ids is not None and ids.shape == shape:
        return np.where(ids >= 0, ids, 0).astype(dtype)
    return rng.integers(_low_id(model), max(int(model.vocab_size), 2), size=shape).astype(dtype)
