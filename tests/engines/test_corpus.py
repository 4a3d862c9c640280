"""The built-in corpus (real faker), its tokenizers (real `tokenizers` training), user corpora and statistics."""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from infbench.engines import corpus
from infbench.engines.models import BUILTIN_MODELS
from infbench.engines.tokenizer import PROVENANCE_JSON, load_tokenizer, train_tokenizer
from infbench.errors import ConfigError

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


@pytest.fixture(scope="module")
def sentences() -> list[corpus.Sentence]:
    """The built-in corpus with its entities."""
    return corpus.build_sentences()


@pytest.fixture(scope="module")
def bert_dir() -> Path:
    """The bert-tiny tokenizer, trained on the built-in corpus into the (private) model cache."""
    return corpus.builtin_tokenizer_for("bert-tiny")


@pytest.fixture(scope="module")
def gpt2_dir() -> Path:
    """The gpt2-small tokenizer, trained on the built-in corpus into the (private) model cache."""
    return corpus.builtin_tokenizer_for("gpt2-small")


def one_line_error(exc: pytest.ExceptionInfo[ConfigError], *needles: str) -> str:
    """The error's message, checked to be one line holding every needle."""
    msg = str(exc.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


# --- the built-in corpus ------------------------------------------------------------------------------------


def test_builtin_corpus_is_deterministic(sentences: list[corpus.Sentence]) -> None:
    """Same seed → the same sentences and entities; a prefix of the stream for a smaller n; another seed differs."""
    assert len(sentences) == corpus.BUILTIN_SIZE >= 1000
    assert corpus.build_sentences() == sentences
    texts = [s.text for s in sentences]
    assert corpus.build_corpus(corpus.BUILTIN_SEED, 50) == texts[:50]
    other = corpus.build_corpus(corpus.BUILTIN_SEED + 1, 50)
    assert len(set(other) & set(texts[:50])) < 5
    assert len(set(texts)) > 0.95 * len(texts)


def test_builtin_corpus_lengths_vary_with_a_heavy_tail(sentences: list[corpus.Sentence]) -> None:
    """Word counts run from a few words to long sentences: p90 ≥ 3 × p10, and a long tail past 3 × the median."""
    words = np.array([len(s.text.split()) for s in sentences])
    p10, p50, p90 = np.percentile(words, [10, 50, 90])
    assert p90 >= 3 * p10
    assert words.min() <= 4
    assert words.max() >= 3 * p50
    assert (words <= 4).sum() >= 10


def test_builtin_corpus_carries_entity_spans(sentences: list[corpus.Sentence]) -> None:
    """Every sentence holds entities whose spans cut out their text; all labels appear, names vary."""
    seen: dict[str, set[str]] = {label: set() for label in corpus.LABELS}
    for s in sentences:
        assert s.entities
        last_end = 0
        for e in s.entities:
            piece = s.text[e.start : e.end]
            assert piece and piece == piece.strip() and e.start >= last_end
            last_end = e.end
            seen[e.label].add(piece)
    assert all(len(v) >= 50 for v in seen.values()), {k: len(v) for k, v in seen.items()}
    assert len(seen["PER"]) >= 500
    assert any(not c.isascii() for s in sentences for c in s.text)  # accents from the other locales


def test_builtin_corpus_file_round_trip(sentences: list[corpus.Sentence]) -> None:
    """The cached JSONL holds the same texts and entities, written once, readable by `load_corpus`."""
    path = corpus.builtin_corpus_file()
    assert path.is_relative_to(Path(os.environ["INFBENCH_CACHE_DIR"]))
    mtime = path.stat().st_mtime_ns
    assert corpus.read_sentences(path) == sentences
    assert corpus.load_corpus(path) == [s.text for s in sentences]
    assert corpus.builtin_corpus_file() == path and path.stat().st_mtime_ns == mtime
    assert corpus.resolve_corpus("builtin") == [s.text for s in sentences]


def test_bad_builtin_arguments_are_one_line() -> None:
    """n < 1, a column for the built-in corpus, an unknown model: one line each."""
    with pytest.raises(ConfigError) as exc:
        corpus.build_corpus(1, 0)
    one_line_error(exc, "at least 1")
    with pytest.raises(ConfigError) as exc:
        corpus.resolve_corpus("builtin", column="text")
    one_line_error(exc, "built-in corpus")
    with pytest.raises(ConfigError) as exc:
        corpus.builtin_tokenizer_for("bert-huge")
    one_line_error(exc, "bert-tiny")


# --- tokenizers -------------------------------------------------------------------------------------------------


def test_bert_tokenizer_round_trip_and_vocab(bert_dir: Path, sentences: list[corpus.Sentence]) -> None:
    """WordPiece, uncased: exact model vocab size, [CLS]…[SEP], no [UNK] on its corpus, decode gives the text."""
    tok = load_tokenizer(bert_dir)
    vocab_size = BUILTIN_MODELS["bert-tiny"].config["vocab_size"]
    assert tok.get_vocab_size(with_added_tokens=True) == vocab_size == 30522
    prov = json.loads((bert_dir / PROVENANCE_JSON).read_text())
    assert prov["trained_tokens"] + prov["padding_tokens"] == vocab_size and prov["trained_tokens"] > 2000
    cls, sep, unk = (tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[UNK]"))
    assert tok.token_to_id("[PAD]") == 0
    for s in sentences:
        enc = tok.encode(s.text)
        assert enc.ids[0] == cls and enc.ids[-1] == sep and unk not in enc.ids
        assert max(enc.ids) < prov["trained_tokens"]  # padding ids are never produced
        decoded = tok.decode(enc.ids)
        assert decoded.split() and "".join(decoded.split()) == "".join(
            tok.normalizer.normalize_str(s.text).split()
        )
    decoded = tok.decode(tok.encode("Maria paid $1,250.00 to Acme").ids)  # uncased, specials dropped
    assert decoded.startswith("maria paid $") and decoded.endswith("to acme")


def test_gpt2_tokenizer_round_trip_and_vocab(gpt2_dir: Path, sentences: list[corpus.Sentence]) -> None:
    """Byte-level BPE: exact vocab size, <|endoftext|> last as in GPT-2, exact round trip even for unseen text."""
    tok = load_tokenizer(gpt2_dir)
    assert tok.get_vocab_size(with_added_tokens=True) == 50257
    assert tok.token_to_id("<|endoftext|>") == 50256
    prov = json.loads((gpt2_dir / PROVENANCE_JSON).read_text())
    for s in sentences:
        ids = tok.encode(s.text).ids
        assert tok.decode(ids) == s.text and max(ids) < prov["trained_tokens"] - 1
    unseen = "Zürich → 東京, ünïcödé ✓"
    assert tok.decode(tok.encode(unseen).ids) == unseen


def test_tokenizers_load_with_transformers(bert_dir: Path, gpt2_dir: Path) -> None:
    """The saved directories load as fast tokenizers with the special tokens set, and pad a batch."""
    transformers = pytest.importorskip("transformers")
    bert = transformers.AutoTokenizer.from_pretrained(str(bert_dir), local_files_only=True)
    assert len(bert) == 30522 and bert.pad_token_id == 0 and bert.cls_token == "[CLS]"
    batch = bert(["Call Anna.", "Anna joined Acme in Berlin on 3 May 2020."], padding="longest")
    assert "token_type_ids" in batch
    assert len(batch["input_ids"][0]) == len(batch["input_ids"][1]) and 0 in batch["attention_mask"][0]
    assert (
        batch["input_ids"][1]
        == load_tokenizer(bert_dir).encode("Anna joined Acme in Berlin on 3 May 2020.").ids
    )
    gpt2 = transformers.AutoTokenizer.from_pretrained(str(gpt2_dir), local_files_only=True)
    assert len(gpt2) == 50257 and gpt2.eos_token_id == gpt2.pad_token_id == 50256
    assert gpt2.decode(gpt2("Hello from Lyon.")["input_ids"]) == "Hello from Lyon."


def test_tokenizer_is_cached_by_key(bert_dir: Path) -> None:
    """A second call reuses the directory; another vocabulary size is another directory."""
    mtime = (bert_dir / "tokenizer.json").stat().st_mtime_ns
    assert corpus.builtin_tokenizer_for("bert-small") == bert_dir  # same family and vocab → same tokenizer
    assert (bert_dir / "tokenizer.json").stat().st_mtime_ns == mtime
    small = corpus.builtin_tokenizer("bert", 4000, n=200)
    assert small != bert_dir and load_tokenizer(small).get_vocab_size() == 4000


def test_train_tokenizer_errors_are_one_line(tmp_path: Path) -> None:
    """Unknown family, empty corpus, a vocabulary smaller than the byte alphabet, no tokenizer file."""
    with pytest.raises(ConfigError) as exc:
        train_tokenizer("t5", ["a b"], 100, tmp_path)
    one_line_error(exc, "t5", "bert, gpt2")
    with pytest.raises(ConfigError) as exc:
        train_tokenizer("bert", ["", "  "], 100, tmp_path)
    one_line_error(exc, "empty")
    with pytest.raises(ConfigError) as exc:
        train_tokenizer("gpt2", ["some text here"], 100, tmp_path)
    one_line_error(exc, "too small")
    with pytest.raises(ConfigError) as exc:
        load_tokenizer(tmp_path / "nothing")
    one_line_error(exc, "tokenizer.json")
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError) as exc:
        load_tokenizer(tmp_path)
    one_line_error(exc, "not a valid tokenizer")


# --- statistics ---------------------------------------------------------------------------------------------------


def test_corpus_stats(bert_dir: Path, sentences: list[corpus.Sentence]) -> None:
    """Counts and percentiles match a direct count; a path, a Tokenizer and a transformers tokenizer agree."""
    texts = [s.text for s in sentences]
    tok = load_tokenizer(bert_dir)
    lengths = np.array([len(tok.encode(t).ids) for t in texts])
    stats = corpus.corpus_stats(texts, bert_dir, max_length=32)
    assert stats["sentences"] == 1000 and stats["tokens"] == int(lengths.sum())
    assert stats["words"] == sum(len(t.split()) for t in texts) and stats["chars"] == sum(map(len, texts))
    dist = stats["tokens_per_sentence"]
    assert dist["min"] == lengths.min() and dist["max"] == lengths.max()
    assert (
        dist["p50"] == pytest.approx(np.percentile(lengths, 50)) and dist["p10"] < dist["p50"] < dist["p90"]
    )
    assert stats["over_max_length"] == int((lengths > 32).sum()) > 0
    assert corpus.corpus_stats(texts, tok, max_length=32) == stats
    assert corpus.corpus_stats([], tok)["tokens_per_sentence"] is None


# --- user corpora -------------------------------------------------------------------------------------------------

TEXTS = ["First text, with a comma.", 'A "quoted" one', "Ünïcode too"]


def test_load_text_file(tmp_path: Path) -> None:
    """One text per line; blank lines skipped; CRLF and a BOM handled."""
    path = tmp_path / "c.txt"
    path.write_bytes(("\ufeff" + "\r\n".join([TEXTS[0], "", TEXTS[1], "   ", TEXTS[2]]) + "\r\n").encode())
    assert corpus.load_corpus(path) == TEXTS
    other = tmp_path / "corpus"  # no extension: text
    other.write_text("\n".join(TEXTS))
    assert corpus.resolve_corpus(str(other)) == TEXTS


def test_load_jsonl(tmp_path: Path) -> None:
    """The `text` field by default, another field by name; null/blank values skipped."""
    path = tmp_path / "c.jsonl"
    rows = [{"text": t, "body": t.upper(), "id": i} for i, t in enumerate(TEXTS)] + [
        {"text": None, "body": " "}
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert corpus.load_corpus(path) == TEXTS
    assert corpus.load_corpus(path, column="body") == [t.upper() for t in TEXTS]


def test_load_csv_and_tsv(tmp_path: Path) -> None:
    """A header row; `text` by default or a named column; quoted commas and newlines kept."""
    texts = [*TEXTS, "two\nlines"]
    for suffix, delim in ((".csv", ","), (".tsv", "\t")):
        path = tmp_path / f"c{suffix}"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=delim)
            w.writerow(["id", "text", "label"])
            w.writerows([i, t, f"L{i}"] for i, t in enumerate(texts))
        assert corpus.load_corpus(path) == texts
        assert corpus.load_corpus(path, column="label") == [f"L{i}" for i in range(len(texts))]


def test_load_parquet(tmp_path: Path) -> None:
    """With pyarrow: the column read (default `text`); without: one line naming pyarrow."""
    path = tmp_path / "c.parquet"
    if not HAS_PYARROW:
        path.write_bytes(b"PAR1 not really")
        with pytest.raises(ConfigError) as exc:
            corpus.load_corpus(path)
        one_line_error(exc, "pip install pyarrow", str(path))
        return
    pa = importlib.import_module("pyarrow")
    pq = importlib.import_module("pyarrow.parquet")

    pq.write_table(pa.table({"text": [*TEXTS, None], "n": [1, 2, 3, 4], "alt": ["a", "b", "c", "d"]}), path)
    assert corpus.load_corpus(path) == TEXTS
    assert corpus.load_corpus(path, column="alt") == ["a", "b", "c", "d"]
    with pytest.raises(ConfigError) as exc:
        corpus.load_corpus(path, column="n")
    one_line_error(exc, "'n'", "int")
    with pytest.raises(ConfigError) as exc:
        corpus.load_corpus(path, column="nope")
    one_line_error(exc, "'nope'", "text, n, alt")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ConfigError) as exc:
        corpus.load_corpus(bad)
    one_line_error(exc, "not a readable Parquet file")


def test_parquet_without_pyarrow_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow not importable: one line naming the package (checked even where pyarrow is installed)."""
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # None in sys.modules makes the import fail
    path = tmp_path / "c.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ConfigError) as exc:
        corpus.load_corpus(path)
    one_line_error(exc, "pip install pyarrow", str(path))


BAD_FILES = {
    "missing": (None, None, "does not exist"),
    "bad.jsonl": ('{"text": "ok"}\n{oops\n', None, "line 2 is not JSON"),
    "list.jsonl": ('["a", "b"]\n', None, "line 1 is a JSON list"),
    "field.jsonl": ('{"body": "x", "id": 1}\n', None, "no field 'text' (fields: body, id)"),
    "number.jsonl": ('{"text": 12}\n', None, "holds int, not text"),
    "col.csv": ("id,body\n1,x\n", None, "no column 'text' (columns: id, body)"),
    "col2.csv": ("id,text\n1,x\n", "body", "no column 'body' (columns: id, text)"),
    "empty.csv": ("", None, "no column 'text' (columns: none)"),
    "plain.txt": ("a\nb\n", "text", "a column does not apply"),
    "blank.txt": ("\n  \n", None, "holds no text"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\xff\xfe\x00", None, "not UTF-8 text"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_corpus_files_are_one_line(tmp_path: Path, name: str) -> None:
    """Each malformed corpus file, missing column or misuse gives one ConfigError line naming the file."""
    content, column, needle = BAD_FILES[name]
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as exc:
        corpus.load_corpus(path, column)
    one_line_error(exc, needle, str(path))


def test_a_directory_is_not_a_corpus(tmp_path: Path) -> None:
    """A directory: one line."""
    with pytest.raises(ConfigError) as exc:
        corpus.load_corpus(tmp_path)
    one_line_error(exc, "not a file")
