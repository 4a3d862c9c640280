"""Inputs by the workload's declared options: --padding longest|fixed (masked, never counted as tokens) and the
prompts of --task generate (from the corpus's token stream, or random ids), on the built-in tokenizers."""

from __future__ import annotations

import numpy as np

from infbench.engines.base import InputSpec, ModelFiles
from infbench.engines.workloads import _encode, build_inputs
from infbench.plan.spec import WorkloadSpec

TOKENS = (
    InputSpec("input_ids", "int64", ("batch", "seq")),
    InputSpec("attention_mask", "int64", ("batch", "seq")),
)
BERT = ModelFiles("bert-tiny", "builtin", None, None, TOKENS, vocab_size=30522)
GPT2 = ModelFiles("gpt2-tiny", "builtin", None, None, TOKENS, task="causal-lm", vocab_size=50257)


def test_fixed_padding_pads_every_input_to_seq_and_counts_the_same_real_tokens():
    longest = build_inputs(BERT, WorkloadSpec(batch=4, seq=48, corpus="builtin"))
    fixed = build_inputs(BERT, WorkloadSpec(batch=4, seq=48, corpus="builtin", padding="fixed"))
    assert len(fixed.items) == len(longest.items) == 250
    assert set(fixed.lengths.tolist()) == {48} and longest.lengths.max() <= 48 and longest.lengths.min() < 48
    assert np.array_equal(fixed.tokens, longest.tokens)  # padding is never a token
    for a, b in zip(longest.items, fixed.items):
        width = a["input_ids"].shape[1]
        assert np.array_equal(b["input_ids"][:, :width], a["input_ids"])
        assert np.array_equal(b["attention_mask"][:, :width], a["attention_mask"])
        assert not b["attention_mask"][:, width:].any() and not b["input_ids"][:, width:].any()


def test_fixed_padding_with_random_lengths_masks_the_rest():
    wl = WorkloadSpec(batch=2, seq=32, seq_dist="uniform:4-20", cycle=10, padding="fixed")
    inp = build_inputs(BERT, wl)
    assert set(inp.lengths.tolist()) == {32}
    real = [int(item["attention_mask"][0].sum()) for item in inp.items]
    assert all(4 <= n <= 20 for n in real) and len(set(real)) > 1
    assert inp.tokens.tolist() == [2 * n for n in real]
    for item, n in zip(inp.items, real):
        assert (item["input_ids"][:, :n] >= 1000).all() and not item["input_ids"][:, n:].any()
    plain = build_inputs(BERT, WorkloadSpec(batch=2, seq=32, seq_dist="uniform:4-20", cycle=10))
    assert plain.lengths.tolist() == real  # the same lengths, unpadded


def test_generate_prompts_are_consecutive_windows_of_the_corpus_token_stream():
    wl = WorkloadSpec(batch=3, corpus="builtin", task="generate", prompt_len=20, cycle=4)
    inp = build_inputs(GPT2, wl)
    assert len(inp.items) == 4 and inp.lengths.tolist() == [20] * 4 and inp.tokens.tolist() == [60] * 4
    from infbench.engines.corpus import builtin_corpus_file, load_corpus

    texts = load_corpus(builtin_corpus_file())[:40]
    stream = [t for ids in _encode(GPT2, texts, WorkloadSpec(seq=10**9)) for t in ids]
    got = np.concatenate([item["input_ids"].ravel() for item in inp.items])
    assert got.tolist() == stream[: got.size]  # in order, no padding, no text skipped
    assert all(item["attention_mask"].all() for item in inp.items)


def test_generate_without_a_corpus_uses_random_prompts_of_prompt_len():
    inp = build_inputs(GPT2, WorkloadSpec(batch=2, task="generate", prompt_len=7, cycle=3, seq=128))
    assert [item["input_ids"].shape for item in inp.items] == [(2, 7)] * 3
    assert inp.tokens.tolist() == [14] * 3
    again = build_inputs(GPT2, WorkloadSpec(batch=2, task="generate", prompt_len=7, cycle=3, seq=128))
    assert all(np.array_equal(a["input_ids"], b["input_ids"]) for a, b in zip(inp.items, again.items))
