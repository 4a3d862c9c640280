"""The `pipeline` engine: the texts of each input are those the token-id engines get, the three runtimes run
end to end with their stage split, the logits match the eager model's, bad input is refused in one line."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from infbench.engines.base import EngineLoadError, ModelFiles
from infbench.engines.pipeline import NEEDS_CORPUS, OPTIONS, PARTS, PipelineEngine, corpus_batches
from infbench.engines.workloads import build_inputs
from infbench.errors import ConfigError
from infbench.plan.spec import WorkloadSpec
from infbench.sessions.reader import open_session

BATCH = 3


def _engine(workload: WorkloadSpec) -> PipelineEngine:
    engine = PipelineEngine()
    engine.workload = workload.to_dict()
    return engine


def test_texts_of_each_input_are_the_token_inputs(tiny: ModelFiles) -> None:
    from infbench.engines.corpus import builtin_tokenizer_for, load_tokenizer

    w = WorkloadSpec(batch=BATCH, corpus="builtin")
    items = build_inputs(tiny, w).items
    batches = corpus_batches(w.to_dict())
    assert len(batches) == len(items) == -(-1000 // BATCH) and all(len(b) == BATCH for b in batches)
    tok = load_tokenizer(builtin_tokenizer_for(tiny.name))
    for i in (0, 1, len(items) // 2, len(items) - 1):  # the last one wraps to the first texts
        ids, mask = items[i]["input_ids"], items[i]["attention_mask"]
        for row, text in enumerate(batches[i]):
            assert ids[row][mask[row] == 1].tolist() == tok.encode(text).ids[: w.seq]


def test_bad_input_is_one_line(tiny: ModelFiles, tmp_path: Path) -> None:
    with pytest.raises(EngineLoadError, match=NEEDS_CORPUS):
        _engine(WorkloadSpec(batch=1)).load(tiny, {"runtime": "torch"})
    with pytest.raises(EngineLoadError, match="--padding longest"):
        _engine(WorkloadSpec(corpus="builtin", padding="fixed")).load(tiny, {"runtime": "torch"})
    with pytest.raises(ConfigError, match="only with|runtime"):
        OPTIONS.resolve("pipeline", {"precision": "bf16"})  # an OpenVINO option without runtime=optimum-ov
    with pytest.raises(ConfigError, match="torch, optimum-ort, optimum-ov"):
        OPTIONS.resolve("pipeline", {"runtime": "onnx"})
    remote = tmp_path / "remote"
    shutil.copytree(str(tiny.hf_dir), remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModelForTokenClassification": "modeling_evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    model = ModelFiles("remote", "hf", None, str(remote), tiny.inputs, task=tiny.task, has_tokenizer=False)
    with pytest.raises(EngineLoadError, match="remote code") as info:
        _engine(WorkloadSpec(corpus="builtin")).load(model, {"runtime": "torch"})
    assert "\n" not in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["torch", "optimum-ort", "optimum-ov"])
def test_runtimes_run_end_to_end_with_their_stages(tiny: ModelFiles, runtime: str) -> None:
    import torch

    from infbench.engines._modelcache import load_hf_model

    w = WorkloadSpec(batch=BATCH, corpus="builtin")
    items = build_inputs(tiny, w).items
    engine = _engine(w)
    engine.workload_inputs = items
    result = engine.load(tiny, OPTIONS.resolve("pipeline", {"runtime": runtime, "threads": 1}))
    assert result.details["runtime"] == runtime and result.details["precision"] == "f32"
    assert result.details["threads"] == 1 and "TokenClassificationPipeline" in result.details["wrapper"]
    prepared = engine.prepare_all(items)
    assert prepared[0] == corpus_batches(w.to_dict())[0]
    out = engine.run(prepared[0])
    assert len(out) == BATCH and all(isinstance(x, list) for x in out)  # entities per text
    logits = engine.first_output(out)
    with torch.inference_mode():
        eager = load_hf_model(str(tiny.hf_dir), tiny.task)(
            **{k: torch.from_numpy(v) for k, v in items[0].items()}
        ).logits.numpy()
    assert logits.shape == eager.shape  # the same batch of texts, padded to the same longest text
    np.testing.assert_allclose(logits, eager, atol=1e-4)
    assert engine.call_parts() == PARTS
    engine.take_parts()
    for x in prepared[1:4]:
        t = time.perf_counter_ns()
        engine.run(x)
        call = time.perf_counter_ns() - t
        parts = engine.take_parts()
        assert len(parts) == 3 and all(p > 0 for p in parts) and sum(parts) <= call
    engine.close()


@pytest.mark.slow
def test_headless_run_records_the_stages_and_refuses_without_corpus(cache_dir: str, tmp_path: Path) -> None:
    env = dict(os.environ, COLUMNS="200")
    save = tmp_path / "p.infb"
    base = [sys.executable, "-m", "infbench", "run", "bert-tiny", "-b", "torch", "-b", "pipeline:threads=1"]
    refused = subprocess.run(
        [*base, "--headless", "--save", str(tmp_path / "no.infb")], capture_output=True, text=True, env=env
    )
    assert refused.returncode == 2 and "--corpus" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "no.infb").exists()
    proc = subprocess.run(
        [
            *base,
            "--corpus",
            "builtin",
            "--batch",
            "2",
            "-d",
            "0.5",
            "-n",
            "8",
            "--warmup",
            "2",
            "--threads",
            "1",
            "--no-monitors",
            "--headless",
            "--save",
            str(save),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Where the time goes" in proc.stdout
    with open_session(save) as r:
        info = r.backend_infos()["pipeline"]
        assert info.status == "done" and info.details["runtime"] == "torch"
        assert info.parity is not None and info.parity["reference"] == "torch"
        assert info.parity["max_abs"] < 1e-4
        parts = r.parts("pipeline")
        start, dur = r.samples("pipeline", phase="measure")
        assert list(parts) == list(PARTS) and all(v.size == start.size >= 8 for v in parts.values())
        assert np.all(sum(parts.values()) <= dur)
        assert r.parts("torch") == {}
    out = tmp_path / "samples.csv"
    export = subprocess.run(
        [
            sys.executable,
            "-m",
            "infbench",
            "export",
            str(save),
            "--what",
            "samples",
            "--format",
            "csv",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(out.open()))
    piped = [x for x in rows if x["backend"] == "pipeline"]
    assert piped and all(int(x["infer_ns"]) > 0 for x in piped)
    assert all(x["infer_ns"] == "" for x in rows if x["backend"] == "torch")
