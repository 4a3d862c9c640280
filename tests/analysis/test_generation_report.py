"""The "Generation" report section and `report` of a recorded generate session: the numbers of the typed
report, formatted by the metric registry, the same in the headless print, Markdown and JSON; nothing for a
prefill run."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from infbench.analysis.summary import build_report
from infbench.metrics import fmt_ms, metric
from infbench.report.generation import print_section, section_markdown
from infbench.report.sections import sections_markdown
from infbench.sessions.reader import SessionReader
from tests.analysis.gen_synth import gen_run


def _text(report) -> str:  # type: ignore[no-untyped-def]
    console = Console(record=True, width=80, color_system=None)
    print_section(console, report)
    return console.export_text()


def test_section_shows_the_report_numbers_with_their_cis() -> None:
    report = build_report(gen_run(duration_s=4.0, throttle=False).store, n_boot=200, analysis=False)
    text = _text(report)
    assert text.startswith("Generation") and "prompt 32 tokens, 12 new tokens, batch 2" in text
    for label in ("fast", "slow"):
        r = report.variants[label]
        g = r.generation
        assert g is not None and g.itl is not None
        line = " ".join(ln for ln in text.splitlines() if ln.startswith(label))  # its row of both tables
        assert fmt_ms(g.ttft.median) in line and fmt_ms(g.itl.p99) in line
        assert metric("decode_tokens_per_s").format(g.decode_tokens_per_s) in line
        assert metric("tpot_ms").format(g.tpot_ms) in line
    for head in ("TTFT", "TTFT p99", "ITL", "ITL p99", "decode tok/s", "prefill tok/s", "TPOT"):
        assert head in text
    assert max(len(ln) for ln in text.splitlines()) <= 80  # two tables: every CI whole at 80 columns
    assert f"[{fmt_ms(report.variants['fast'].generation.ttft.median_ci95[0]).split()[0]}–" in text  # type: ignore[union-attr]
    md = section_markdown(report)
    assert md.startswith("### Generation") and "| fast | " in md
    assert md in sections_markdown(report)


def test_prefill_reports_have_no_generation_section() -> None:
    from tests.tui.synthetic import synthetic_store

    report = build_report(synthetic_store(), n_boot=200, analysis=False)
    assert _text(report) == "" and section_markdown(report) == ""


def test_a_recorded_generate_session_reads_back_the_same_numbers(tmp_path: Path) -> None:
    path = tmp_path / "gen.infb"
    run = gen_run(duration_s=4.0, throttle=False, path=path)
    live = build_report(run.store, n_boot=200, analysis=False)
    with SessionReader(path) as reader:
        replayed = build_report(reader, n_boot=200, analysis=False)
    a = json.loads(json.dumps(live.to_json_dict()["backends"], default=str))
    b = json.loads(json.dumps(replayed.to_json_dict()["backends"], default=str))
    assert a["fast"]["generation"] == b["fast"]["generation"] is not None
    assert a["slow"]["generation"]["itl_ms"]["count"] == b["slow"]["generation"]["itl_ms"]["count"] > 0
