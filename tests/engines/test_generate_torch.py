"""torch ``--task generate`` on the built-in gpt2-tiny through the real transformers `generate`: exactly
batch × new_tokens greedy tokens, one `TokenClock` stamp per decoding step inside the call, the tokens the bare
`generate` gives, the KV cache's RSS growth in the load details; and the generate mode's refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from infbench.engines.base import EngineLoadError, ModelFiles
from infbench.engines.registry import engine_info
from infbench.engines.torch import TorchEngine

PROMPT, NEW, BATCH = 12, 6, 2


@pytest.fixture(scope="module")
def gpt2_tiny(cache_dir: str) -> ModelFiles:
    """The built-in gpt2-tiny (HF directory), built once in the session cache."""
    from infbench.engines.models import prepare_model

    return prepare_model("gpt2-tiny", need_onnx=False, need_hf=True)


def prompts(batch: int, prompt_len: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random prompt ids, all real tokens (no padding)."""
    ids = np.random.default_rng(seed).integers(0, 50_000, (batch, prompt_len)).astype(np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}


def _generating_engine(model: ModelFiles, batch: int = BATCH, new: int = NEW) -> TorchEngine:
    engine = TorchEngine()
    engine.workload = {"task": "generate", "batch": batch, "prompt_len": PROMPT, "new_tokens": new}
    engine.workload_inputs = [prompts(batch, PROMPT)]
    return engine


def test_gpt2_tiny_is_a_listed_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    from infbench.cli import main
    from infbench.engines.models import BUILTIN_MODELS

    tiny = BUILTIN_MODELS["gpt2-tiny"]
    assert tiny.task == "causal-lm" and (tiny.hidden, tiny.layers, tiny.config["n_head"]) == (64, 2, 2)
    assert engine_info("torch").generates and engine_info("ov-genai").generates
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert listed["gpt2-tiny"]["layers"] == 2 and listed["gpt2-tiny"]["hidden"] == 64


def test_generate_stamps_each_step_and_matches_bare_generate(gpt2_tiny: ModelFiles) -> None:
    import torch

    engine = _generating_engine(gpt2_tiny)
    loaded = engine.load(gpt2_tiny, {"threads": 1})
    d = loaded.details
    assert d["new_tokens"] == NEW and d["token_clock"] == "TokenClock streamer" and d["generate"] == "eager"
    assert d["kv_rss_growth_mb"] >= 0 and d["kv_rss_peak_mb"] >= d["kv_rss_before_mb"] > 0
    assert d["kv_cache_f32_mb"] == round(2 * 2 * BATCH * (PROMPT + NEW) * 64 * 4 / 1e6, 2)  # layers×K,V×…
    assert engine.emits_tokens() and engine.take_tokens().size == 0  # the load's generation was taken
    prepared = engine.prepare_inputs(prompts(BATCH, PROMPT))
    for _ in range(2):
        start = time.perf_counter_ns()
        out = engine.run(prepared)
        end = time.perf_counter_ns()
        stamps = engine.take_tokens()
        assert stamps.dtype == np.int64 and stamps.size == NEW  # one per step: a step makes every row's token
        assert start < stamps[0] and stamps[-1] <= end and np.all(np.diff(stamps) > 0)
    tokens = engine.first_output(out)
    assert tokens.dtype == np.float32 and tokens.shape == (BATCH, NEW)
    bare = engine.model.generate(
        input_ids=prepared["input_ids"],
        attention_mask=prepared["attention_mask"],
        max_new_tokens=NEW,
        min_new_tokens=NEW,
        do_sample=False,
        pad_token_id=0,
    )
    assert torch.equal(torch.from_numpy(tokens).long(), bare[:, PROMPT:])  # the streamer changes nothing
    assert engine.take_tokens().size == 0  # stamps come only from generate calls with our streamer
    engine.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS from /proc/self")
def test_rss_growth_sees_memory_freed_before_the_call_returns() -> None:
    from infbench.engines._genmem import rss_growth_mb

    def call() -> int:
        block = np.ones(60_000_000 // 8)  # 60 MB touched, then freed when the call returns
        return int(block.size)

    kept: list[np.ndarray] = []
    result, mem = rss_growth_mb(call, warm=lambda: kept.append(np.ones(80_000_000 // 8)))
    assert result == 7_500_000 and mem["kv_rss_measure"] == "peak" and len(kept) == 1
    # the call's 60 MB peak, though RSS fell back after the call; the warm-up's 80 MB (still held) not counted
    assert 50 <= mem["kv_rss_growth_mb"] <= 75, mem


def test_prefill_mode_stamps_nothing(gpt2_tiny: ModelFiles) -> None:
    engine = TorchEngine()
    engine.load(gpt2_tiny, {"threads": 1})
    out = engine.run(engine.prepare_inputs(prompts(1, PROMPT)))
    assert not engine.emits_tokens() and engine.take_tokens().size == 0
    assert engine.first_output(out).shape == (1, PROMPT, 50257)  # logits of the one forward pass


def test_generate_refuses_a_model_that_is_not_causal(tiny: ModelFiles) -> None:
    engine = _generating_engine(tiny)
    with pytest.raises(EngineLoadError, match="needs a causal language model and bert-tiny"):
        engine.load(tiny, {"threads": 1})


@pytest.mark.slow
def test_bad_generate_option_exits_2_before_spawning(tmp_path: Path, cache_dir: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "infbench", "run", "gpt2-tiny", "--task", "generate", "-b", "torch",
         "-b", "ov-genai:attention=flash", "--headless", "--save", str(tmp_path / "x.infb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "attention" in lines[0] and "pa" in lines[0] and "sdpa" in lines[0], lines
    assert not (tmp_path / "x.infb").exists()


@pytest.mark.slow
def test_compiled_generate_gives_the_eager_tokens(gpt2_tiny: ModelFiles) -> None:
    """compile=true compiles the forward pass `generate` calls each step (dynamic shapes: the cache grows)."""
    eager = _generating_engine(gpt2_tiny, batch=1, new=3)
    eager.load(gpt2_tiny, {"threads": 1})
    compiled = _generating_engine(gpt2_tiny, batch=1, new=3)
    details = compiled.load(gpt2_tiny, {"threads": 1, "compile": True}).details
    assert details["compile"] and details["generate"].startswith("compiled forward")
    assert details["compile_graphs"] >= 1 and compiled.take_tokens().size == 0
    x = prompts(1, PROMPT, seed=3)
    out = compiled.run(compiled.prepare_inputs(x))
    assert compiled.take_tokens().size == 3
    assert np.array_equal(compiled.first_output(out), eager.first_output(eager.run(eager.prepare_inputs(x))))
