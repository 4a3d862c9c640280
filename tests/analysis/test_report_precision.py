"""The report of variants that change the numerics: precision and size on disk per row, speed-up vs the fp32
variant of the same engine (ratio of medians with its CI), accuracy (max |Δ|, cosine, agreement), and a note
when an engine ran another precision than its default — in the table, the Markdown, the CSV and the JSON.

The data is a `LiveStore` fed the records a run produces (the runner's listener protocol), with call times drawn
so the speed-up is known: 10 ms for the fp32 variant, 5 ms for the INT8 one.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from rich.console import Console

from infbench.analysis.summary import build_report, fp32_counterpart
from infbench.plan.spec import BackendSpec, RunPlan
from infbench.records import PHASE_MEASURE, BackendInfo, SampleBlock, TurnRecord
from infbench.report.json_out import json_text
from infbench.report.results import print_results_table, results_csv, results_markdown
from infbench.sessions.store import LiveStore

F32 = "onnxruntime"
INT8 = "onnxruntime[quant=int8]"
OV = "openvino"
PARITY_INT8 = {"max_abs": 0.31, "cosine": 0.9987, "reference": F32, "agreement": 0.9712, "rule": "agreement"}


def _store() -> LiveStore:
    plan = RunPlan(
        model="bert-tiny",
        backends=(
            BackendSpec("onnxruntime", F32),
            BackendSpec("onnxruntime", INT8, {"quant": "int8"}),
            BackendSpec("openvino", OV),
        ),
    )
    store = LiveStore()
    store.on_start(plan.to_dict(), {}, 0, 0.0)
    infos = {
        F32: BackendInfo(F32, "onnxruntime", {}, details={"precision": "f32", "quant": "none"}),
        INT8: BackendInfo(
            INT8,
            "onnxruntime",
            {"quant": "int8"},
            details={"precision": "int8", "quant": "int8", "model_file_mb": 1.25},
            parity=PARITY_INT8,
        ),
        OV: BackendInfo(OV, "openvino", {}, details={"precision": "f32", "default_precision": "bf16"}),
    }
    for info in infos.values():
        info.status, info.model_size_mb = "done", 4.5
    infos[F32].parity = {
        "max_abs": 0.0,
        "cosine": 1.0,
        "reference": F32,
        "agreement": 1.0,
        "rule": "tolerance",
    }
    rng = np.random.default_rng(1)
    t = 0
    for _round in range(40):  # interleaved rounds: one turn of 20 calls per variant
        for label, ms in ((F32, 10.0), (INT8, 5.0), (OV, 8.0)):
            dur = (ms * 1e6 * rng.lognormal(0, 0.02, 20)).astype(np.int64)
            start = t + np.concatenate([[0], np.cumsum(dur)[:-1]]).astype(np.int64)
            store.on_samples(SampleBlock(label, PHASE_MEASURE, start, dur, np.zeros(20, dtype=np.int32)))
            store.on_turn(TurnRecord(label, PHASE_MEASURE, t, int(start[-1] + dur[-1]), 20, int(dur.sum())))
            t = int(start[-1] + dur[-1]) + 1000
    for info in infos.values():
        store.on_backend(info)
    store.on_finish("complete")
    return store


@pytest.fixture(scope="module")
def report():
    return build_report(_store(), n_boot=300)


def test_speedup_is_the_ratio_of_medians_vs_the_fp32_variant_of_the_same_engine(report) -> None:
    q = report.variants[INT8]
    assert q.precision == "int8" and q.speedup is not None and q.speedup.reference == F32
    assert q.speedup.ratio == pytest.approx(2.0, rel=0.02)
    assert q.speedup.ci95[0] < q.speedup.ratio < q.speedup.ci95[1] and q.speedup.ci95[0] > 1.8
    assert "between-process" in q.speedup.ci_method
    # full-precision variants have no speed-up row; another engine's fp32 is never the counterpart
    assert report.variants[F32].speedup is None and report.variants[OV].speedup is None
    assert fp32_counterpart(dict(report.variants), INT8) == F32
    assert (
        q.size_on_disk_mb == 1.25 and report.variants[F32].size_on_disk_mb == 4.5
    )  # no file reported: model's
    assert (
        q.parity is not None and q.parity.agreement == pytest.approx(0.9712) and q.parity.rule == "agreement"
    )


def test_table_and_markdown_state_precision_size_speedup_agreement_and_the_default_precision_note(
    report,
) -> None:
    buf = io.StringIO()
    print_results_table(Console(file=buf, width=300, color_system=None), report)
    table = buf.getvalue()
    row = next(line for line in table.splitlines() if line.strip().startswith(INT8))
    assert "int8" in row and "×2.0" in row and "0.31" not in row  # max |Δ| prints as 3.1e-01
    assert "3.1e-01" in row
    assert "1.2 MB" in table and "agree 97.1 %" in table and "cos 0.99870" in table
    assert "vs onnxruntime" in table and "precision" in table and "speed-up" in table
    note = "openvino ran f32, but openvino computes in bf16 by default on this CPU"
    assert note in " ".join(table.split())
    assert report.notes and report.notes[0].startswith(note)
    assert "-b openvino:precision=bf16" in report.notes[0]
    md = results_markdown(report)
    assert "int8 / 1.2 MB" in md and "agree 97.1 %" in md and f"> ⓘ {note}" in md


def test_json_and_csv_carry_the_same_numbers(report) -> None:
    data = json.loads(json_text(report))
    assert data["schema_version"] == 2 and data["notes"] == list(report.notes)
    q = data["backends"][INT8]
    assert q["precision"] == "int8" and q["details"]["quant"] == "int8"
    assert q["model_file_mb"] == 1.25 and q["size_on_disk_mb"] == 1.25 and q["model_size_mb"] == 4.5
    assert q["parity"]["agreement"] == pytest.approx(0.9712) and q["parity"]["rule"] == "agreement"
    assert q["speedup"]["reference"] == F32
    assert q["speedup"]["ratio"] == pytest.approx(report.variants[INT8].speedup.ratio)
    assert data["backends"][F32]["speedup"] is None and data["backends"][F32]["precision"] == "f32"
    rows = {r["backend"]: r for r in csv.DictReader(io.StringIO(results_csv(report)))}
    assert rows[INT8]["precision"] == "int8" and float(rows[INT8]["size_on_disk_mb"]) == 1.25
    assert float(rows[INT8]["parity_agreement"]) == pytest.approx(0.9712)
    assert float(rows[INT8]["speedup_vs_f32"]) == pytest.approx(q["speedup"]["ratio"])
    assert float(rows[INT8]["speedup_ci95_lo"]) == pytest.approx(q["speedup"]["ci95"][0])
    assert rows[INT8]["speedup_reference"] == F32 and rows[F32]["speedup_vs_f32"] == ""


def test_default_precision_note_is_one_line_per_engine_and_names_a_variant_that_times_it() -> None:
    from infbench.analysis.report_model import VariantResult
    from infbench.analysis.summary import precision_notes
    from infbench.vocab import Verdict

    def ov(label: str, **details) -> VariantResult:
        return VariantResult(label, "openvino", Verdict.OK, details=details)

    forced = ov("openvino", precision="f32", default_precision="bf16")
    weights = ov(
        "openvino[quant=int8-weights]", precision="f32", quant="int8-weights", default_precision="bf16"
    )
    int8 = ov("openvino[quant=int8]", precision="int8", quant="int8", default_precision="bf16")
    bf16 = ov("openvino[precision=bf16]", precision="bf16", default_precision="bf16")
    results = {r.label: r for r in (forced, weights, int8)}
    assert precision_notes(results) == [
        "openvino, openvino[quant=int8-weights] ran f32, but openvino computes in bf16 by default on this CPU "
        "(what its own tools measure, e.g. OpenVINO's benchmark_app): add -b openvino:precision=bf16 to time "
        "it, with its accuracy"
    ]
    results[bf16.label] = bf16
    assert precision_notes(results)[0].endswith(": openvino[precision=bf16] times it")
    # where f32 is the engine's default too (a CPU without bf16), nothing to say
    assert precision_notes({"o": ov("o", precision="f32", default_precision="f32")}) == []
