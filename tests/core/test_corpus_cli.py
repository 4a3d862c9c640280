"""`--corpus builtin|FILE` through the real CLI: a headless run on real texts, and every bad-input case."""

from __future__ import annotations

import json
import shutil

import pytest

from infbench import cli
from infbench.engines.corpus import BUILTIN_SIZE
from infbench.engines.models import prepare_model
from infbench.engines.workloads import build_inputs
from infbench.plan.spec import WorkloadSpec
from tests.core.test_cli_run import _bad, cli_run


def test_headless_run_on_the_builtin_corpus(tmp_path):
    out = tmp_path / "out.json"
    proc = cli_run(
        *("run", "bert-tiny", "-b", "ort", "--corpus", "builtin", "--batch", "4", "--seq", "64"),
        *("-d", "1", "-n", "20", "--no-monitors", "--headless", "--json", str(out)),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"corpus builtin: {BUILTIN_SIZE} texts, {BUILTIN_SIZE // 4} inputs of 4" in proc.stderr
    data = json.loads(out.read_text())
    wl = data["plan"]["workload"]
    assert wl["corpus"] == "builtin" and wl["corpus_column"] is None and wl["seq_dist"] is None
    row = data["backends"]["onnxruntime"]
    assert row["status"] == "ok" and not row["tokens_per_s_approximate"], row
    # tokens per call are the real ones (padding excluded): what the inputs' masks hold, over a whole pass
    inputs = build_inputs(
        prepare_model("bert-tiny", need_onnx=True, need_hf=False),
        WorkloadSpec(batch=4, seq=64, corpus="builtin"),
    )
    assert len(inputs.items) == BUILTIN_SIZE // 4
    assert (
        wl["corpus_tokens"] == pytest.approx(inputs.tokens.sum() / BUILTIN_SIZE) and wl["corpus_tokens"] < 64
    )
    per_call = row["tokens_per_s"] / row["throughput_per_s"]
    assert per_call == pytest.approx(4 * wl["corpus_tokens"], rel=1e-6), row


def test_corpus_file_with_a_column(tmp_path, capsys):
    corpus = tmp_path / "c.csv"
    corpus.write_text("id,body\n1,the cat sat on the mat\n2,a dog ran\n3,hello there\n")
    out = tmp_path / "out.json"
    rc = cli.main(
        [
            *("run", "bert-tiny", "-b", "ort", "--corpus", str(corpus), "--corpus-column", "body"),
            *("--batch", "2", "--seq", "16", "-d", "0.2", "-n", "5", "--no-monitors", "--headless"),
            *("--json", str(out)),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    wl = json.loads(out.read_text())["plan"]["workload"]
    assert wl["corpus"] == str(corpus) and wl["corpus_column"] == "body"


def test_bad_corpus_inputs_are_one_line_exit_two(tmp_path, capsys):
    missing = tmp_path / "texts.txt"
    _bad(["run", "bert-tiny", "-b", "ort", "--headless", "--corpus", str(missing)], capsys, "does not exist")
    _bad(
        ["run", "bert-tiny", "-b", "ort", "--headless", "--corpus", "builtin", "--seq-dist", "uniform:1-2"],
        capsys,
        "--corpus and --seq-dist exclude each other",
    )
    _bad(
        ["run", "bert-tiny", "-b", "ort", "--headless", "--corpus", "builtin", "--corpus-column", "x"],
        capsys,
        "--corpus-column applies to a corpus file",
    )
    _bad(
        ["run", "bert-tiny", "-b", "ort", "--headless", "--corpus-column", "x"], capsys, "needs --corpus FILE"
    )
    csv = tmp_path / "c.csv"
    csv.write_text("text\nhello\n")
    _bad(
        ["run", "bert-tiny", "-b", "ort", "--headless", "--corpus", str(csv), "--corpus-column", "body"],
        capsys,
        "body",
    )


def test_onnx_model_without_tokenizer_names_the_alternatives(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    shutil.copy(str(prepare_model("bert-tiny", need_onnx=True, need_hf=False).onnx_path), model)
    _bad(
        ["run", str(model), "-b", "ort", "--headless", "--corpus", "builtin"],
        capsys,
        "an .onnx file (m.onnx) has none: pass the model's Hugging Face directory",
    )


def test_sweep_takes_the_corpus_arguments(capsys):
    _bad(
        [
            "sweep",
            "bert-tiny",
            "-b",
            "ort",
            "--threads",
            "1,2",
            "--corpus",
            "builtin",
            "--seq-dist",
            "uniform:1-2",
        ],
        capsys,
        "exclude each other",
    )
    _bad(
        ["sweep", "bert-tiny", "-b", "ort", "--threads", "1,2", "--corpus", "/no/such/corpus.jsonl"],
        capsys,
        "does not exist",
    )


def test_corpus_is_stored_in_the_plan_and_old_workloads_still_read():
    from infbench.plan.spec import BackendSpec, RunPlan

    plan = RunPlan(
        model="bert-tiny",
        backends=(BackendSpec("null", "null"),),
        workload=WorkloadSpec(corpus="builtin", corpus_tokens=21.5),
    )
    again = RunPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again.workload == plan.workload
    old = plan.to_dict()
    for key in ("corpus", "corpus_column", "corpus_tokens"):
        del old["workload"][key]
    assert RunPlan.from_dict(old).workload == WorkloadSpec()
