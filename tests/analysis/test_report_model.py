"""The typed report on the recorded fixture session: every renderer reads it, and the JSON (schema 2) carries
the same numbers as the table, the Markdown and the CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from infbench.analysis.report_model import SCHEMA_VERSION, Report, VariantResult
from infbench.analysis.summary import build_report
from infbench.metrics import METRICS, metric
from infbench.report.analysis import analysis_markdown, print_analysis
from infbench.report.json_out import json_text
from infbench.report.results import CSV_COLUMNS, print_results_table, results_csv, results_markdown
from infbench.run.headless import exit_code, interrupted_note
from infbench.sessions.reader import open_session
from infbench.vocab import Verdict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sessions" / "small.infb"


@pytest.fixture(scope="module")
def report() -> Report:
    with open_session(FIXTURE) as reader:
        return build_report(reader, n_boot=200, session=str(FIXTURE))


def _table(report: Report) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=250, color_system=None)
    print_results_table(console, report)
    print_analysis(console, report)
    return buf.getvalue()


def test_json_has_the_schema_version_and_the_numbers_the_table_shows(report: Report) -> None:
    data = json.loads(json_text(report))
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["session"] == str(FIXTURE) and data["warnings"] == []
    assert set(data["backends"]) == {"onnxruntime", "openvino", "torch"}
    table = _table(report)
    median, p99, rate = metric("median_ms"), metric("p99_ms"), metric("throughput_per_s")
    for label, b in data["backends"].items():
        row = next(line for line in table.splitlines() if line.strip().startswith(label))
        assert median.format(b["latency_ms"]["median"]) in row
        assert p99.format(b["latency_ms"]["p99"]) in row
        assert rate.format(b["throughput_per_s"]) in row
        assert b["status"] == report.variants[label].verdict.value
        assert b["roles"] == [] and b["twin_of"] is None
    assert data["backends"]["torch"]["status"] == "degraded"
    assert data["winners"] == dict(report.winners) and data["winners"]["median"] == "openvino"
    # the winner is starred in the table on its own row
    ov = next(line for line in table.splitlines() if line.strip().startswith("openvino"))
    assert f"★ {median.format(data['backends']['openvino']['latency_ms']['median'])}" in ov
    comp = data["analysis"]["comparison"]
    assert comp["baseline"] == "openvino" and comp["rows"]["openvino"]["verdict"] == "baseline"
    assert set(data["analysis"]["backends"]) == set(data["backends"])
    assert any(e["kind"] == "spike" for e in data["events"])


def test_csv_and_markdown_carry_the_same_numbers(report: Report) -> None:
    data = json.loads(json_text(report))
    rows = {r["backend"]: r for r in csv.DictReader(io.StringIO(results_csv(report)))}
    assert list(rows["onnxruntime"]) == list(CSV_COLUMNS)
    for label, b in data["backends"].items():
        r = rows[label]
        assert float(r["median_ms"]) == pytest.approx(b["latency_ms"]["median"])
        assert float(r["p99_ci95_hi"]) == pytest.approx(b["latency_ms"]["p99_ci95"][1])
        assert float(r["throughput_per_s"]) == pytest.approx(b["throughput_per_s"])
        assert float(r["rss_peak_mb"]) == pytest.approx(b["memory_mb"]["rss_peak"])
        assert float(r["parity_cosine"]) == pytest.approx(b["parity"]["cosine"])
        assert r["status"] == b["status"]
    md = results_markdown(report) + analysis_markdown(report)
    torch = data["backends"]["torch"]
    assert metric("median_ms").format(torch["latency_ms"]["median"]) in md
    assert "| degraded: parity: max abs diff" in md and "### Fair comparison vs the fastest" in md


def test_every_registered_per_variant_metric_has_a_value(report: Report) -> None:
    ort = report.variants["onnxruntime"]
    for key in METRICS:
        try:
            value = ort.value(key)
        except KeyError:
            continue  # a metric that is not a per-variant value (none today)
        assert value is None or isinstance(value, float)
    assert ort.value("cold_start_ms") == pytest.approx(40.0 + 24.0)
    assert ort.value("rss_mb") == pytest.approx(135.0)
    with pytest.raises(KeyError, match="unknown metric"):
        ort.value("nope")


def test_exit_code_and_interrupted_note_read_the_verdicts(report: Report) -> None:
    assert exit_code(report, interrupted=False) == 1  # torch is degraded
    assert exit_code(report, interrupted=True) == 130
    from dataclasses import replace

    ok = replace(report, variants={k: replace(v, verdict=Verdict.OK) for k, v in report.variants.items()})
    assert exit_code(ok, interrupted=False) == 0
    assert exit_code(replace(report, variants={}), interrupted=False) == 1
    note = interrupted_note(report)
    assert all(f"{label} {r.iterations:,} calls" in note for label, r in report.variants.items())


def test_roles_not_names_decide_who_competes() -> None:
    base = VariantResult("x", "null", Verdict.OK)
    assert base.competes
    assert not VariantResult("x", "onnxruntime", Verdict.OK, roles=("control",)).competes
    assert not VariantResult("x#aa", "onnxruntime", Verdict.OK, roles=("aa-twin",), twin_of="x").competes
    assert not VariantResult("x", "onnxruntime", Verdict.FAILED).competes
    assert not VariantResult("x", "onnxruntime", Verdict.NOT_STARTED).competes
