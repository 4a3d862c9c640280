"""Tokenizers for the built-in models, trained offline with the `tokenizers` library on a corpus.

``bert``: an uncased WordPiece (``[CLS] … [SEP]``, ``##`` continuations), as bert-base-uncased.
``gpt2``: a byte-level BPE with ``<|endoftext|>`` as its last id, as GPT-2.
A corpus of a thousand sentences supports far fewer tokens than the built-in models' vocabularies (30522 and
50257), so the trained vocabulary is padded with unused tokens up to the model's size (BERT's own vocabulary
holds ``[unused0]``… for the same reason): ids then span the model's embedding table, and the padding tokens are
never produced by encoding. `tokenizers` is imported inside the functions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from infbench.errors import ConfigError

log = logging.getLogger(__name__)

FAMILIES = ("bert", "gpt2")
TOKENIZER_FORMAT = 1  # bump when training or the saved files change: cached tokenizers are rebuilt
TOKENIZER_JSON = "tokenizer.json"
PROVENANCE_JSON = "infbench_tokenizer.json"
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
GPT2_EOS = "<|endoftext|>"
MAX_LENGTH = {"bert": 512, "gpt2": 1024}
_NEEDS_TOKENIZERS = "training or loading a tokenizer needs the tokenizers package: pip install tokenizers"


def tokenizers_version() -> str:
    """The installed `tokenizers` version (part of the cache key of trained tokenizers)."""
    try:
        return metadata.version("tokenizers")
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(_NEEDS_TOKENIZERS) from exc


def _bert(corpus: Sequence[str], vocab_size: int) -> tuple[Any, int]:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(BERT_SPECIALS), show_progress=False
    )
    tok.train_from_iterator(corpus, trainer)
    trained = tok.get_vocab_size()
    tok = _padded(tok, vocab_size, "[unused{}]", tail=None)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return tok, trained


def _gpt2(corpus: Sequence[str], vocab_size: int) -> tuple[Any, int]:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,  # the last id is <|endoftext|>
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    trained = tok.get_vocab_size() + 1
    tok = _padded(tok, vocab_size, "<|unused{}|>", tail=GPT2_EOS)
    tok.add_special_tokens([AddedToken(GPT2_EOS, special=True)])
    return tok, trained


def _padded(tok: Any, vocab_size: int, pattern: str, tail: str | None) -> Any:
    """`tok` with its model vocabulary padded to exactly `vocab_size` ids (`tail`, if any, takes the last)."""
    from tokenizers import Tokenizer

    data = json.loads(tok.to_str())
    vocab: dict[str, int] = data["model"]["vocab"]
    room = vocab_size - (1 if tail else 0)
    if len(vocab) > room:
        raise ConfigError(
            f"vocab_size {vocab_size} is too small: the base alphabet and special tokens alone take "
            f"{len(vocab) + (1 if tail else 0)} ids"
        )
    i = 0
    while len(vocab) < room:
        token = pattern.format(i)
        i += 1
        if token not in vocab:
            vocab[token] = len(vocab)
    if tail:
        vocab[tail] = vocab_size - 1
    return Tokenizer.from_str(json.dumps(data))


def _config(family: str, max_length: int) -> tuple[dict[str, Any], dict[str, str]]:
    """tokenizer_config.json: loadable with `PreTrainedTokenizerFast` / `AutoTokenizer` from the directory."""
    if family == "bert":
        specials = {
            "unk_token": "[UNK]",
            "pad_token": "[PAD]",
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "mask_token": "[MASK]",
        }
        extra: dict[str, Any] = {
            "do_lower_case": True,
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        }
    else:
        # GPT-2 has no padding token; batching pads with <|endoftext|> (masked out), as is usual
        specials = {
            "bos_token": GPT2_EOS,
            "eos_token": GPT2_EOS,
            "unk_token": GPT2_EOS,
            "pad_token": GPT2_EOS,
        }
        extra = {"add_prefix_space": False, "model_input_names": ["input_ids", "attention_mask"]}
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        **specials,
        **extra,
    }, specials


def train_tokenizer(
    family: str, corpus: Sequence[str], vocab_size: int, out_dir: str | Path, max_length: int | None = None
) -> Path:
    """Train the tokenizer of a model family on `corpus` and save it into `out_dir`.

    Args:
        family: ``bert`` (WordPiece, uncased) or ``gpt2`` (byte-level BPE).
        corpus: the training texts.
        vocab_size: the model's vocabulary size; the trained vocabulary is padded up to it exactly.
        out_dir: created if needed; receives ``tokenizer.json``, ``tokenizer_config.json``,
            ``special_tokens_map.json`` and ``infbench_tokenizer.json`` (how it was made).
        max_length: ``model_max_length`` in the config (512 for bert, 1024 for gpt2 by default).

    Returns:
        `out_dir`, loadable with ``PreTrainedTokenizerFast.from_pretrained`` or `load_tokenizer`.

    Raises:
        ConfigError: unknown family, empty corpus, a vocabulary too small, or `tokenizers` missing.
    """
    if family not in FAMILIES:
        raise ConfigError(f"unknown tokenizer family {family!r}: choose one of {', '.join(FAMILIES)}")
    if not any(t.strip() for t in corpus):
        raise ConfigError("cannot train a tokenizer on an empty corpus")
    version = tokenizers_version()
    tok, trained = (_bert if family == "bert" else _gpt2)(corpus, vocab_size)
    if tok.get_vocab_size(with_added_tokens=True) != vocab_size:  # pragma: no cover - a tokenizers change
        raise ConfigError(f"the trained {family} tokenizer has {tok.get_vocab_size()} ids, not {vocab_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / TOKENIZER_JSON))
    config, specials = _config(family, max_length or MAX_LENGTH[family])
    for name, obj in (
        ("tokenizer_config.json", config),
        ("special_tokens_map.json", specials),
        (
            PROVENANCE_JSON,
            {
                "family": family,
                "vocab_size": vocab_size,
                "trained_tokens": trained,
                "padding_tokens": vocab_size - trained,
                "corpus_texts": len(corpus),
                "format": TOKENIZER_FORMAT,
                "tokenizers": version,
            },
        ),
    ):
        (out / name).write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
    os.chmod(out, 0o755)
    log.debug("%s tokenizer: %d trained + %d padding ids → %s", family, trained, vocab_size - trained, out)
    return out


def load_tokenizer(path: str | Path) -> Any:
    """A `tokenizers.Tokenizer` from a directory holding ``tokenizer.json`` or from the file itself."""
    p = Path(path).expanduser()
    file = p / TOKENIZER_JSON if p.is_dir() else p
    if not file.is_file():
        raise ConfigError(
            f"no tokenizer at {path}: expected a {TOKENIZER_JSON} file or a directory holding one"
        )
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ConfigError(_NEEDS_TOKENIZERS) from exc
    try:
        return Tokenizer.from_file(str(file))
    except Exception as exc:  # tokenizers raises a bare Exception for a malformed file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{file} is not a valid tokenizer file: {first[:200]}") from exc
