"""Text workloads: the built-in corpus (made offline from a seed), user corpora, and their statistics.

The built-in corpus is generated with `faker` (names, companies, places and English words ship with the
package) plus a few sentence templates; every entity's character span is kept, so a later accuracy check can
label tokens. Its tokenizers are trained offline on it (`engines/tokenizer.py`). Nothing is ever downloaded.
faker is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from infbench.engines import _modelcache as mc
from infbench.engines._corpus_gen import LABELS, NEEDS_FAKER, Entity, Generator, Sentence
from infbench.engines._corpus_read import TEXT_FIELD, load_corpus
from infbench.engines.models import BUILTIN_MODELS, SEED, cache_root
from infbench.engines.tokenizer import (
    TOKENIZER_FORMAT,
    TOKENIZER_JSON,
    load_tokenizer,
    tokenizers_version,
    train_tokenizer,
)
from infbench.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = [
    "BUILTIN",
    "BUILTIN_SEED",
    "BUILTIN_SIZE",
    "LABELS",
    "Entity",
    "Sentence",
    "build_corpus",
    "build_sentences",
    "builtin_corpus_file",
    "builtin_tokenizer",
    "builtin_tokenizer_for",
    "corpus_stats",
    "load_corpus",
    "load_tokenizer",
    "read_sentences",
    "resolve_corpus",
    "train_tokenizer",
]

BUILTIN = "builtin"  # the corpus argument that selects the built-in corpus
BUILTIN_SEED = SEED
BUILTIN_SIZE = 1000
CORPUS_FORMAT = 1  # bump when the generator changes: cached corpora and tokenizers are rebuilt


def build_sentences(seed: int = BUILTIN_SEED, n: int = BUILTIN_SIZE) -> list[Sentence]:
    """`n` sentences with their entity spans, generated from `seed` (same seed and faker version → same list)."""
    if n < 1:
        raise ConfigError(f"a corpus needs at least 1 sentence, not {n}")
    gen = Generator(seed)
    return [gen.sentence() for _ in range(n)]


def build_corpus(seed: int = BUILTIN_SEED, n: int = BUILTIN_SIZE) -> list[str]:
    """The texts of `build_sentences(seed, n)`."""
    return [s.text for s in build_sentences(seed, n)]


def corpus_key(seed: int, n: int) -> str:
    """Cache key of a generated corpus: seed, size, generator format and the faker version."""
    try:
        faker_version = metadata.version("faker")
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(NEEDS_FAKER) from exc
    blob = json.dumps({"seed": seed, "n": n, "format": CORPUS_FORMAT, "faker": faker_version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def builtin_corpus_file(seed: int = BUILTIN_SEED, n: int = BUILTIN_SIZE) -> Path:
    """The built-in corpus as JSONL (``text`` and ``entities`` [[start, end, label], …]) in the model cache.

    Written once per key; a child process can read it with `load_corpus` or `read_sentences` without faker.
    """
    path = cache_root() / "corpus" / f"builtin-{seed}-{n}-{corpus_key(seed, n)}.jsonl"
    if path.is_file():
        return path
    with mc.locked(path):
        if not path.is_file():
            lines = [
                json.dumps({TEXT_FIELD: s.text, "entities": [[e.start, e.end, e.label] for e in s.entities]})
                for s in build_sentences(seed, n)
            ]
            tmp = path.with_name(f".tmp-{path.name}")
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            tmp.replace(path)
            log.debug("built-in corpus written to %s", path)
    return path


def read_sentences(path: str | Path) -> list[Sentence]:
    """Sentences with entities from a JSONL file written by `builtin_corpus_file`."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                ents = tuple(Entity(int(s), int(e), str(lab)) for s, e, lab in row.get("entities", []))
                out.append(Sentence(row[TEXT_FIELD], ents))
    return out


def resolve_corpus(spec: str, column: str | None = None) -> list[str]:
    """The texts of a corpus argument: ``builtin`` (the built-in corpus) or a file for `load_corpus`."""
    if spec == BUILTIN:
        if column is not None:
            raise ConfigError("a column applies to a corpus file, not to the built-in corpus")
        return build_corpus(BUILTIN_SEED, BUILTIN_SIZE)
    return load_corpus(spec, column)


def builtin_tokenizer(
    family: str,
    vocab_size: int,
    seed: int = BUILTIN_SEED,
    n: int = BUILTIN_SIZE,
    max_length: int | None = None,
) -> Path:
    """The directory of the `family` tokenizer trained on the built-in corpus, built once into the model cache.

    The cache key covers the corpus (seed, size, generator format, faker version), the vocabulary size, the
    maximum length, the training format and the tokenizers version: a change of any rebuilds it.
    """
    blob = json.dumps(
        {
            "family": family,
            "vocab_size": vocab_size,
            "max_length": max_length,
            "corpus": corpus_key(seed, n),
            "format": TOKENIZER_FORMAT,
            "tokenizers": tokenizers_version(),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(blob.encode()).hexdigest()[:12]
    root = cache_root() / "tokenizers" / f"{family}-{vocab_size}-{key}"
    if not (root / TOKENIZER_JSON).is_file():
        with mc.locked(root):
            if not (root / TOKENIZER_JSON).is_file():
                corpus = build_corpus(seed, n)

                def train(tmp: Path) -> None:
                    train_tokenizer(family, corpus, vocab_size, tmp, max_length)

                mc.atomic_dir(root, train)
                log.info("trained the %s tokenizer on the built-in corpus: %s", family, root)
    return root


def builtin_tokenizer_for(model: str) -> Path:
    """The tokenizer directory of built-in model `model` (``bert-tiny``…): its family and vocabulary size."""
    spec = BUILTIN_MODELS.get(model)
    if spec is None:
        raise ConfigError(f"no built-in model {model!r}: choose one of {', '.join(BUILTIN_MODELS)}")
    cfg = spec.config
    max_length = cfg.get("max_position_embeddings", cfg.get("n_positions"))
    return builtin_tokenizer(spec.family, int(cfg["vocab_size"]), max_length=max_length)


def _as_tokenizer(tokenizer: Any) -> Any:
    if isinstance(tokenizer, (str, Path)):
        return load_tokenizer(tokenizer)
    # a transformers fast tokenizer wraps a `tokenizers.Tokenizer`
    return getattr(tokenizer, "backend_tokenizer", tokenizer)


def _distribution(values: np.ndarray) -> dict[str, float] | None:
    if values.size == 0:
        return None
    p10, p50, p90, p99 = np.percentile(values, [10, 50, 90, 99])
    return {
        "min": float(values.min()),
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(values.max()),
        "mean": float(values.mean()),
    }


def corpus_stats(texts: Sequence[str], tokenizer: Any, max_length: int | None = None) -> dict[str, Any]:
    """Size and length distribution of a corpus under a tokenizer.

    Args:
        texts: the corpus.
        tokenizer: a `tokenizers.Tokenizer`, a transformers fast tokenizer, or a path for `load_tokenizer`.
        max_length: when given, ``over_max_length`` counts the texts longer than it (they would be truncated).

    Returns:
        ``sentences``, ``words``, ``chars``, ``tokens`` (real tokens with the model's special tokens, no
        padding), ``tokens_per_sentence`` and ``words_per_sentence`` (min, p10, p50, p90, p99, max, mean;
        None for an empty corpus) and ``over_max_length`` (None without `max_length`).
    """
    tok = _as_tokenizer(tokenizer)
    # one text at a time: encode_batch would start the tokenizers thread pool in the parent, which then warns
    # (and disables it) in every forked child
    lengths = np.array([len(tok.encode(t).ids) for t in texts], dtype=np.int64)
    words = np.array([len(t.split()) for t in texts], dtype=np.int64)
    return {
        "sentences": len(texts),
        "words": int(words.sum()),
        "chars": sum(len(t) for t in texts),
        "tokens": int(lengths.sum()),
        "tokens_per_sentence": _distribution(lengths),
        "words_per_sentence": _distribution(words),
        "over_max_length": None if max_length is None else int((lengths > max_length).sum()),
    }
