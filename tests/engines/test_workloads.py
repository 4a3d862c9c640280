"""Input generation: deterministic, model-shaped, with every sequence-length distribution."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.engines.base import InputSpec, ModelFiles
from infbench.engines.workloads import build_inputs
from infbench.errors import ModelError
from infbench.plan.spec import WorkloadSpec

BERT = ModelFiles(
    "bert",
    "onnx",
    "m.onnx",
    None,
    (
        InputSpec("input_ids", "int64", ("batch", "sequence")),
        InputSpec("attention_mask", "int64", ("batch", "seq")),
        InputSpec("token_type_ids", "int64", ("batch", "seq")),
        InputSpec("position_ids", "int64", ("batch", "len")),
    ),
    vocab_size=30522,
)


def _same(a, b) -> bool:
    return all(
        x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x) for x, y in zip(a.items, b.items)
    )


def test_fixed_shapes_dtypes_and_values():
    wl = WorkloadSpec(batch=3, seq=20, cycle=5)
    inp = build_inputs(BERT, wl)
    assert len(inp.items) == 5 and inp.lengths.tolist() == [20] * 5 and inp.tokens.tolist() == [60] * 5
    item = inp.items[0]
    assert all(v.shape == (3, 20) and v.dtype == np.int64 for v in item.values())
    assert item["attention_mask"].min() == 1 and item["token_type_ids"].max() == 0
    assert item["position_ids"][2].tolist() == list(range(20))
    ids = np.concatenate([x["input_ids"] for x in inp.items])
    assert ids.min() >= 0 and ids.max() < 30522 and len(np.unique(ids)) > 100


def test_deterministic_and_seed_dependent():
    wl = WorkloadSpec(batch=2, seq=16, seq_dist="uniform:2-16", seed=7, cycle=8)
    a, b = build_inputs(BERT, wl), build_inputs(BERT, wl)
    assert _same(a, b) and np.array_equal(a.lengths, b.lengths)
    c = build_inputs(BERT, WorkloadSpec(batch=2, seq=16, seq_dist="uniform:2-16", seed=8, cycle=8))
    assert not _same(a, c)
    # items differ from each other within one cycle
    assert not np.array_equal(a.items[0]["input_ids"][:, :2], a.items[1]["input_ids"][:, :2])


def test_uniform_and_normal_lengths_are_bounded():
    uni = build_inputs(BERT, WorkloadSpec(batch=1, seq=64, seq_dist="uniform:10-20", cycle=200))
    assert uni.lengths.min() >= 10 and uni.lengths.max() <= 20 and len(set(uni.lengths.tolist())) > 5
    assert all(x["input_ids"].shape == (1, n) for x, n in zip(uni.items, uni.lengths))
    norm = build_inputs(BERT, WorkloadSpec(batch=2, seq=32, seq_dist="normal:30,20", cycle=300))
    assert norm.lengths.min() >= 1 and norm.lengths.max() == 32  # clipped to [1, seq]
    assert np.array_equal(norm.tokens, 2 * norm.lengths)
    clipped = build_inputs(BERT, WorkloadSpec(batch=1, seq=8, seq_dist="uniform:5-50", cycle=50))
    assert clipped.lengths.max() == 8


def test_symbolic_static_and_float_dims():
    model = ModelFiles(
        "x",
        "onnx",
        "m.onnx",
        None,
        (
            InputSpec("pixels", "float32", ("N", 3, "H")),
            InputSpec("ids", "int32", ("b", "?")),
            InputSpec("flag", "bool", (1,)),
        ),
        vocab_size=50,
    )
    item = build_inputs(model, WorkloadSpec(batch=4, seq=9, cycle=2)).items[0]
    assert item["pixels"].shape == (4, 3, 9) and item["pixels"].dtype == np.float32
    assert item["ids"].shape == (4, 9) and item["ids"].dtype == np.int32 and item["ids"].max() < 50
    assert item["flag"].dtype == np.bool_ and item["flag"].shape == (1,)


def test_static_sequence_length_rejects_variable_lengths():
    static = ModelFiles("s", "onnx", "m.onnx", None, (InputSpec("input_ids", "int64", (1, 16)),))
    assert build_inputs(static, WorkloadSpec(batch=1, seq=16, cycle=2)).items[0]["input_ids"].shape == (1, 16)
    with pytest.raises(ModelError, match="fixed sequence length 16"):
        build_inputs(static, WorkloadSpec(batch=1, seq=16, seq_dist="uniform:4-16", cycle=4))


def test_file_distribution_needs_a_tokenizer(tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text("hello world\n")
    with pytest.raises(ModelError, match="needs a tokenizer.*has none"):
        build_inputs(BERT, WorkloadSpec(seq=16, seq_dist=f"file:{text}"))


def _save_bert_tokenizer(directory, tokens):
    """A real BertTokenizer saved the way `save_pretrained` writes it (built from vocab.txt: every version)."""
    from transformers import BertTokenizer

    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(tokens) + "\n")
    BertTokenizer(vocab_file=str(vocab_file)).save_pretrained(str(directory))


def test_file_distribution_tokenizes_lines(tmp_path):
    words = ["the", "cat", "sat", "on", "mat", "a", "dog"]
    _save_bert_tokenizer(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])
    model = ModelFiles("tok", "hf", None, str(tmp_path), BERT.inputs[:3], vocab_size=12, has_tokenizer=True)
    text = tmp_path / "lines.txt"
    text.write_text(
        "the cat sat\n\n  \na dog sat on the mat\nthe cat sat on a mat the dog sat on a mat the end\n"
    )
    inp = build_inputs(model, WorkloadSpec(batch=1, seq=10, seq_dist=f"file:{text}", cycle=4))
    assert inp.lengths.tolist() == [5, 8, 10, 5]  # [CLS] … [SEP], truncated to seq, lines cycled
    assert inp.items[0]["input_ids"].tolist() == [[2, 5, 6, 7, 3]]
    padded = build_inputs(model, WorkloadSpec(batch=2, seq=10, seq_dist=f"file:{text}", cycle=2))
    assert padded.lengths.tolist() == [8, 10]
    assert padded.items[0]["attention_mask"].tolist() == [[1] * 5 + [0] * 3, [1] * 8]
    assert padded.tokens.tolist() == [13, 15]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(ModelError, match="no non-empty lines"):
        build_inputs(model, WorkloadSpec(seq=10, seq_dist=f"file:{empty}"))
    with pytest.raises(ModelError, match="does not exist"):
        build_inputs(model, WorkloadSpec(seq=10, seq_dist=f"file:{tmp_path / 'nope.txt'}"))


def _cut(ids: list[int], seq: int) -> list[int]:
    """`ids` truncated to `seq` tokens the way transformers truncates: the last (special) token kept."""
    return ids if len(ids) <= seq else [*ids[: seq - 1], ids[-1]]


def test_builtin_corpus_inputs_on_bert_tiny():
    from infbench.engines.corpus import builtin_tokenizer_for, load_tokenizer, resolve_corpus
    from infbench.engines.models import prepare_model

    model = prepare_model("bert-tiny", need_onnx=True, need_hf=False)
    texts = resolve_corpus("builtin")
    seq, batch = 12, 3
    inp = build_inputs(model, WorkloadSpec(batch=batch, seq=seq, corpus="builtin"))
    assert len(inp.items) == -(-len(texts) // batch) == 334  # the whole corpus, not the 64-input cycle
    tok = load_tokenizer(builtin_tokenizer_for("bert-tiny"))
    full = [tok.encode(t).ids for t in texts]
    assert any(len(f) > seq for f in full)  # some texts are cut
    for i in (0, 1, len(inp.items) - 1):
        item = inp.items[i]
        mask, ids = item["attention_mask"], item["input_ids"]
        # the last item wraps around; a cut text keeps its closing [SEP], as transformers truncates
        want = [_cut(full[(i * batch + j) % len(texts)], seq) for j in range(batch)]
        width = max(len(w) for w in want)
        assert ids.shape == mask.shape == (batch, width) and inp.lengths[i] == width
        for j, w in enumerate(want):
            assert mask[j].tolist() == [1] * len(w) + [0] * (width - len(w))
            assert ids[j, : len(w)].tolist() == w and not ids[j, len(w) :].any()
        assert inp.tokens[i] == sum(len(w) for w in want) == mask.sum()
    assert int(inp.tokens.sum()) < len(inp.items) * batch * seq  # padding is not counted
    assert all(int(x["input_ids"].max()) < model.vocab_size for x in inp.items)


def test_corpus_needs_a_tokenizer(tmp_path):
    text = tmp_path / "c.txt"
    text.write_text("hello world\nsecond text\n")
    with pytest.raises(ModelError, match="--corpus needs a tokenizer"):
        build_inputs(BERT, WorkloadSpec(seq=16, corpus=str(text)))


def test_corpus_file_with_an_hf_tokenizer(tmp_path):
    words = ["the", "cat", "sat", "on", "mat", "a", "dog"]
    _save_bert_tokenizer(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])
    model = ModelFiles("tok", "hf", None, str(tmp_path), BERT.inputs[:3], vocab_size=12, has_tokenizer=True)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"body": "the cat sat"}\n{"body": "a dog sat on the mat"}\n{"body": "the mat"}\n')
    inp = build_inputs(model, WorkloadSpec(batch=2, seq=6, corpus=str(corpus), corpus_column="body"))
    assert len(inp.items) == 2 and inp.lengths.tolist() == [6, 5]  # the second item wraps to the first text
    assert inp.items[0]["input_ids"].tolist() == [[2, 5, 6, 7, 3, 0], [2, 10, 11, 7, 8, 3]]
    assert inp.items[1]["input_ids"].tolist() == [[2, 5, 9, 3, 0], [2, 5, 6, 7, 3]]
    assert inp.items[1]["attention_mask"].tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    assert inp.tokens.tolist() == [11, 9]
