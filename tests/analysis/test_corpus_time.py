"""Whole-corpus time (`analysis.corpus_time`) and its report section, on call durations written to a real
session file and read back: the passes are the sums of consecutive calls, whatever the turns."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from infbench.analysis.corpus_time import corpus_passes, items_per_pass, pass_progress
from infbench.analysis.summary import build_report
from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.records import BackendInfo, SampleBlock, TurnRecord
from infbench.report import corpus as section
from infbench.report.sections import sections_markdown
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder

T0 = 5_000_000_000


def _plan(whole_corpus: int = 2, texts: int = 40, batches: tuple[int, ...] = (4, 16)) -> dict:
    return RunPlan(
        model="bert-tiny",
        backends=(
            *(BackendSpec("onnxruntime", f"onnxruntime[batch={b}]", {"batch": b}) for b in batches),
            BackendSpec("null", "null"),
        ),
        workload=WorkloadSpec(
            batch=batches[0],
            corpus="builtin",
            corpus_tokens=12.5,
            corpus_texts=texts,
            whole_corpus=whole_corpus,
        ),
    ).to_dict()


def test_items_and_progress_follow_the_variant_s_batch():
    plan = _plan()
    assert items_per_pass(plan, {"batch": 4}) == 10 and items_per_pass(plan, {"batch": 16}) == 3
    assert items_per_pass(plan, {}) == 10  # the plan's batch
    assert pass_progress(plan, {"batch": 4}, 25) == (2, 0.5)
    assert pass_progress(_plan(whole_corpus=0), {"batch": 4}, 25) is None
    no_corpus = {**plan, "workload": {**plan["workload"], "corpus": None}}
    assert items_per_pass(no_corpus, {"batch": 4}) is None


def test_passes_are_sums_of_consecutive_calls_and_a_partial_pass_is_left_out():
    plan = _plan()
    dur = np.arange(1, 26, dtype=np.int64) * 1_000_000  # 25 calls of 1..25 ms at 10 calls a pass
    got = corpus_passes(plan, {"batch": 4}, dur, n_boot=200)
    assert got is not None and got.passes == 2 and got.items == 10 and got.texts == 40
    assert got.pass_s == pytest.approx((0.055, 0.155))
    assert got.median_s == pytest.approx(0.105)
    assert got.ci95[0] <= got.median_s <= got.ci95[1]
    assert got.sentences_per_s == pytest.approx(40 / 0.105)
    assert got.tokens_per_s == pytest.approx(40 * 12.5 / 0.105)
    assert corpus_passes(plan, {"batch": 4}, dur[:9]) is None  # not one whole pass
    assert corpus_passes(_plan(whole_corpus=0), {"batch": 4}, dur) is None


def _session(
    path: Path, per_turn: int = 7, turns: int = 6, whole_corpus: int = 2
) -> tuple[Path, dict[str, np.ndarray]]:
    """A recorded interleaved run of the plan: turns of `per_turn` calls (not aligned with the passes)."""
    rng = np.random.default_rng(3)
    plan = _plan(whole_corpus)
    rec = Recorder(path)
    rec.on_start(plan, {"cpu": "test"}, T0, 1_700_000_000.0)
    durs: dict[str, list[np.ndarray]] = {}
    for b in plan["backends"]:
        rec.on_backend(
            BackendInfo(b["label"], b["backend"], dict(b["options"]), status="running", load_ms=5.0)
        )
    t = T0 + 1_000_000
    for _ in range(turns):
        for b in plan["backends"]:
            dur = (rng.lognormal(0, 0.1, per_turn) * 2e6).astype(np.int64)
            start = t + np.concatenate([[0], np.cumsum(dur + 1000)[:-1]]).astype(np.int64)
            rec.on_samples(SampleBlock(b["label"], "measure", start, dur, np.zeros(per_turn, np.int32)))
            end = int(start[-1] + dur[-1])
            rec.on_turn(TurnRecord(b["label"], "measure", t, end, per_turn, int(dur.sum())))
            durs.setdefault(b["label"], []).append(dur)
            t = end + 50_000
    for b in plan["backends"]:
        rec.on_backend(BackendInfo(b["label"], b["backend"], dict(b["options"]), status="done", load_ms=5.0))
    rec.close("complete")
    return path, {label: np.concatenate(d) for label, d in durs.items()}


def test_the_report_carries_the_passes_in_the_table_section_markdown_and_json(tmp_path):
    path, durs = _session(tmp_path / "wc.infb")
    data = open_session(path)
    try:
        report = build_report(data, n_boot=200)
    finally:
        data.close()
    small = report.variants["onnxruntime[batch=4]"].corpus
    large = report.variants["onnxruntime[batch=16]"].corpus
    assert report.variants["null"].corpus is None  # a control runs no corpus
    assert small is not None and large is not None
    assert (small.passes, small.items) == (4, 10) and (large.passes, large.items) == (14, 3)  # 42 calls each
    d = durs["onnxruntime[batch=4]"]
    assert small.pass_s == pytest.approx(tuple(d[i * 10 : (i + 1) * 10].sum() / 1e9 for i in range(4)))
    assert report.variants["onnxruntime[batch=4]"].value("corpus_pass_ms") == pytest.approx(
        small.median_s * 1e3
    )
    row = json.loads(json.dumps(report.to_json_dict()))["backends"]["onnxruntime[batch=16]"]["whole_corpus"]
    assert (
        row["passes"] == 14
        and row["texts_per_pass"] == 48
        and row["pass_s"] == pytest.approx(list(large.pass_s))
    )

    out = io.StringIO()
    section.print_section(Console(file=out, width=80), report)
    text = out.getvalue()
    assert text.startswith("Whole corpus") and "40 texts" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("onnxruntime[")]
    assert [ln.split()[:3] for ln in lines] == [
        ["onnxruntime[batch=4]", "4", "4"],
        ["onnxruntime[batch=16]", "16", "14"],
    ]
    assert all(len(ln) <= 80 for ln in text.splitlines())
    md = sections_markdown(report)
    assert "### Whole corpus" in md and "| onnxruntime[batch=4] | 4 | 4 |" in md


def test_no_section_without_whole_corpus(tmp_path):
    path, _ = _session(tmp_path / "plain.infb", whole_corpus=0)
    data = open_session(path)
    try:
        report = build_report(data, n_boot=50)
    finally:
        data.close()
    assert all(r.corpus is None for r in report.variants.values())
    assert report.to_json_dict()["backends"]["onnxruntime[batch=4]"]["whole_corpus"] is None
    out = io.StringIO()
    section.print_section(Console(file=out, width=80), report)
    assert out.getvalue() == "" and section.section_markdown(report) == ""
