"""Where the time goes: the stage split of calls with parts, in the typed report, its JSON and its section."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

from infbench.analysis.stages import OTHER, stage_split, variant_stages
from infbench.analysis.summary import build_report
from infbench.records import BackendInfo, SampleBlock
from infbench.report import stages as section
from infbench.report.sections import sections_markdown
from infbench.sessions.store import LiveStore

T0 = 10**12
MS = 1_000_000


def _store(n: int = 40) -> LiveStore:
    """A pipeline-like variant (tokenize 1 ms, infer 6 ms, post 2 ms, 1 ms in none of them) and a plain one."""
    store = LiveStore()
    plan = {
        "model": "m",
        "backends": [{"label": "pipe", "backend": "pipeline"}, {"label": "eager", "backend": "torch"}],
        "workload": {"batch": 1},
    }
    store.on_start(plan, {}, T0, 0.0)
    rng = np.random.default_rng(5)
    for label in ("pipe", "eager"):
        store.on_backend(BackendInfo(label, "pipeline" if label == "pipe" else "torch", {}, status="done"))
    for phase, k0 in (("warmup", 0), ("measure", 5)):
        k = np.arange(k0, k0 + (5 if phase == "warmup" else n))
        tok = (1 * MS + rng.integers(0, 1000, k.size)).astype(np.int64)
        inf = np.full(k.size, 6 * MS, np.int64)
        post = np.full(k.size, 2 * MS, np.int64)
        dur = tok + inf + post + MS
        start = T0 + k * 20 * MS
        store.on_samples(
            SampleBlock(
                "pipe",
                phase,
                start,
                dur,
                np.zeros(k.size, np.int32),
                {"tokenize": tok, "infer": inf, "post": post},
            )
        )
        store.on_samples(SampleBlock("eager", phase, start + MS, inf, np.zeros(k.size, np.int32)))
    store.on_finish("complete")
    return store


def test_split_medians_and_shares_add_up() -> None:
    split = variant_stages(_store(), "pipe")
    assert split is not None and split.calls == 40
    names = [p.name for p in split.parts]
    assert names == ["tokenize", "infer", "post", OTHER]
    assert split.part("infer").median_ms == pytest.approx(6.0)
    assert split.part("post").median_ms == pytest.approx(2.0)
    assert split.part(OTHER).median_ms == pytest.approx(1.0)
    assert sum(p.share for p in split.parts) == pytest.approx(1.0)
    assert split.part("infer").share == pytest.approx(6.0 / split.call_median_ms, rel=0.01)
    assert variant_stages(_store(), "eager") is None


def test_split_up_to_an_instant_and_calls_missing_a_part() -> None:
    store = _store()
    cut = variant_stages(store, "pipe", T0 + 15 * 20 * MS)  # measured calls 5..14 started before it
    assert cut is not None and cut.calls == 10
    dur = np.full(4, 10 * MS)
    parts = {"a": np.array([2 * MS, -1, 3 * MS, 4 * MS]), "b": np.full(4, 5 * MS)}
    split = stage_split(parts, dur)
    assert split is not None and split.calls == 3  # the call without "a" is left out
    assert split.part("a").median_ms == pytest.approx(3.0)
    assert stage_split({}, dur) is None
    with pytest.raises(ValueError):
        stage_split({"a": np.ones(3)}, dur)


def test_report_json_and_section() -> None:
    report = build_report(_store(), n_boot=50)
    assert report.variants["eager"].stages is None
    split = report.variants["pipe"].stages
    assert split is not None
    data = json.loads(json.dumps(report.to_json_dict(), default=str))
    row = data["backends"]["pipe"]["stages"]
    assert [p["name"] for p in row["parts"]] == ["tokenize", "infer", "post", "other"]
    assert data["backends"]["eager"]["stages"] is None
    line = section.stage_line(split)
    assert line.startswith("tokenize 1.") and " · infer 6.00 ms 6" in line and "post 2.00 ms" in line
    console = Console(file=io.StringIO(), width=200)
    section.print_section(console, report)
    text = console.file.getvalue()
    assert section.TITLE in text and "pipe " in text and line in text and "eager" not in text
    md = sections_markdown(report)
    assert f"### {section.TITLE}" in md and f"`pipe`: {line}" in md


def test_no_section_without_parts() -> None:
    store = LiveStore()
    store.on_start({"backends": [{"label": "x", "backend": "torch"}]}, {}, T0, 0.0)
    start = T0 + np.arange(30) * MS
    store.on_samples(SampleBlock("x", "measure", start, np.full(30, MS // 2), np.zeros(30, np.int32)))
    report = build_report(store, n_boot=20)
    assert section.section_markdown(report) == ""
    console = Console(file=io.StringIO(), width=120)
    section.print_section(console, report)
    assert console.file.getvalue() == ""
