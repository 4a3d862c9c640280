"""Wrapper overhead (`analysis.wrappers`): each wrapper variant is paired with the variant of the engine it wraps
(same threads and precision, else the first), the ratio of medians comes with its CI, the direct engine's io is
carried, and the report states it in the JSON, the Rich section and the Markdown.

The data is a `LiveStore` fed the records a run produces, call times drawn so the ratios are known.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from infbench.analysis.summary import build_report
from infbench.analysis.wrappers import direct_counterpart, wrapper_overheads
from infbench.plan.spec import BackendSpec, RunPlan
from infbench.records import PHASE_MEASURE, BackendInfo, SampleBlock, TurnRecord
from infbench.report import wrappers as section
from infbench.report.json_out import json_text
from infbench.report.sections import print_sections, sections_markdown
from infbench.sessions.store import LiveStore

ORT1 = "onnxruntime[threads=1]"
ORT2 = "onnxruntime[threads=2]"
WRAP = "optimum-ort"
OV = "openvino"
WRAP_OV = "optimum-ov"
TORCH = "torch"
# label → (engine, options, details, median ms)
VARIANTS: dict[str, tuple[str, dict[str, Any], dict[str, Any], float]] = {
    ORT1: ("onnxruntime", {"threads": 1}, {"precision": "f32", "threads": 1, "io": "bound"}, 10.0),
    ORT2: ("onnxruntime", {"threads": 2}, {"precision": "f32", "threads": 2, "io": "copy"}, 6.0),
    WRAP: ("optimum-ort", {"threads": 2}, {"precision": "f32", "threads": 2, "wraps": "onnxruntime"}, 7.8),
    OV: ("openvino", {}, {"precision": "f32", "threads": 1, "io": "bound"}, 8.0),
    WRAP_OV: (
        "optimum-ov",
        {"precision": "bf16"},
        {"precision": "bf16", "threads": 1, "wraps": "openvino"},
        4.0,
    ),
    TORCH: ("torch", {}, {"precision": "f32", "threads": 1}, 12.0),
}


def _store(labels: tuple[str, ...] = tuple(VARIANTS)) -> LiveStore:
    plan = RunPlan(
        model="bert-tiny",
        backends=tuple(BackendSpec(VARIANTS[x][0], x, VARIANTS[x][1]) for x in labels),
    )
    store = LiveStore()
    store.on_start(plan.to_dict(), {}, 0, 0.0)
    rng = np.random.default_rng(7)
    t = 0
    for _round in range(40):  # interleaved rounds: one turn of 20 calls per variant
        for label in labels:
            dur = (VARIANTS[label][3] * 1e6 * rng.lognormal(0, 0.02, 20)).astype(np.int64)
            start = t + np.concatenate([[0], np.cumsum(dur)[:-1]]).astype(np.int64)
            store.on_samples(SampleBlock(label, PHASE_MEASURE, start, dur, np.zeros(20, dtype=np.int32)))
            store.on_turn(TurnRecord(label, PHASE_MEASURE, t, int(start[-1] + dur[-1]), 20, int(dur.sum())))
            t = int(start[-1] + dur[-1]) + 1000
    for label in labels:
        engine, options, details, _ms = VARIANTS[label]
        info = BackendInfo(label, engine, dict(options), details=dict(details))
        info.status, info.model_size_mb = "done", 4.5
        store.on_backend(info)
    store.on_finish("complete")
    return store


@pytest.fixture(scope="module")
def report():
    return build_report(_store(), n_boot=300)


def test_each_wrapper_is_paired_with_the_direct_variant_of_the_same_threads_and_precision(report) -> None:
    pairs = {w.wrapper: w for w in report.wrapper_overhead}
    assert set(pairs) == {WRAP, WRAP_OV}  # torch and the direct engines wrap nothing
    ort = pairs[WRAP]
    assert (ort.direct, ort.wraps, ort.io, ort.same_config) == (ORT2, "onnxruntime", "copy", True)
    assert ort.ratio == pytest.approx(7.8 / 6.0, rel=0.02)
    assert ort.ci95[0] < ort.ratio < ort.ci95[1] and ort.ci95[0] > 1.2
    assert ort.wrapper_median_ms == pytest.approx(7.8, rel=0.02)
    assert ort.direct_median_ms == pytest.approx(6.0, rel=0.02)
    assert "between-process" in ort.ci_method  # the comparison's own CI, as every ratio of two variants
    # no openvino variant at bf16: the first openvino variant, said to differ
    ov = pairs[WRAP_OV]
    assert (ov.direct, ov.io, ov.same_config) == (OV, "bound", False)
    assert ov.ratio == pytest.approx(0.5, rel=0.02) and ov.ci95[1] < 1.0


def test_no_pair_without_the_wrapped_engine_or_at_another_batch(report) -> None:
    only_wrappers = build_report(_store((WRAP, WRAP_OV, TORCH)), n_boot=100)
    assert only_wrappers.wrapper_overhead == ()
    variants = dict(report.variants)
    assert direct_counterpart(variants, TORCH) is None
    variants[WRAP] = replace(variants[WRAP], options={**variants[WRAP].options, "batch": 8})
    assert direct_counterpart(variants, WRAP) is None  # no onnxruntime variant ran at batch 8
    variants[ORT1] = replace(variants[ORT1], options={**variants[ORT1].options, "batch": 8})
    assert direct_counterpart(variants, WRAP) == (ORT1, False)
    assert [w.wrapper for w in wrapper_overheads(_store(), variants, n_boot=100)] == [WRAP, WRAP_OV]


def test_json_rich_and_markdown_state_the_overhead(report) -> None:
    data = json.loads(json_text(report))
    items = {w["wrapper"]: w for w in data["wrapper_overhead"]}
    assert items[WRAP]["direct"] == ORT2 and items[WRAP]["io"] == "copy"
    assert items[WRAP]["median_ratio"] == pytest.approx(report.wrapper_overhead[0].ratio)
    assert len(items[WRAP]["median_ratio_ci95"]) == 2 and items[WRAP_OV]["same_config"] is False

    console = Console(file=io.StringIO(), width=200, record=True)
    print_sections(console, report)
    text = console.export_text()
    assert section.TITLE in text
    assert f"{WRAP} / {ORT2} (io=copy)  ×1.3" in text
    assert f"{WRAP_OV} / {OV} (io=bound)  ×0.50" in text and "threads or precision differ" in text

    md = sections_markdown(report)
    assert md.startswith(f"### {section.TITLE}")
    assert f"- {WRAP} / {ORT2} (io=copy)  ×1.3" in md

    empty = build_report(_store((ORT1, TORCH)), n_boot=100)
    assert section.section_markdown(empty) == ""
    console = Console(file=io.StringIO(), width=200, record=True)
    section.print_section(console, empty)
    assert console.export_text() == ""
