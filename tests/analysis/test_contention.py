"""The every-core warning: a variant at its default threads (or threads ≥ cores) competes with infbench."""

from __future__ import annotations

import io
import json

from rich.console import Console

from infbench.analysis.contention import effective_threads, every_core_variants, every_core_warning
from infbench.analysis.summary import build_report
from infbench.records import BackendInfo
from infbench.report.json_out import json_text
from infbench.report.results import print_results_table, results_markdown
from tests.core.session_maker import Backend, make_session

SYSTEM = {"logical_cores": 4}


def _plan(*variants: tuple[str, dict, list[str]], backend: str = "onnxruntime") -> dict:
    return {
        "backends": [{"backend": backend, "label": lab, "options": o, "roles": r} for lab, o, r in variants]
    }


def test_a_plan_without_threads_warns_and_threads_1_does_not() -> None:
    plan = _plan(("ort", {}, []), ("ov", {"threads": 1}, []))
    lines = every_core_warning(plan, SYSTEM)
    assert len(lines) == 1
    assert "ort (threads unset: the backend's default)" in lines[0] and "ov" not in lines[0].split(" on ")[0]
    assert "4 logical cores" in lines[0] and "--threads N with N < 4" in lines[0]
    assert every_core_warning(_plan(("ort", {"threads": 1}, [])), SYSTEM) == []
    assert every_core_variants(_plan(("ort", {"threads": 4}, [])), SYSTEM) == {"ort": "threads=4"}
    assert every_core_variants(_plan(("ort", {"threads": 8}, [])), SYSTEM) == {"ort": "threads=8"}
    assert every_core_variants(_plan(("ort", {"threads": 3}, [])), SYSTEM) == {}


def test_a_control_or_an_engine_without_threads_never_warns_and_reported_threads_win() -> None:
    assert every_core_warning(_plan(("c", {}, ["control"])), SYSTEM) == []
    assert every_core_warning(_plan(("n", {}, []), backend="null"), SYSTEM) == []  # declares no thread option
    # an engine this installation does not know (a plugin's session): its `threads` option is assumed
    assert every_core_variants(_plan(("p", {}, []), backend="someplugin"), SYSTEM) == {
        "p": "threads unset: the backend's default"
    }
    # what the engine reported after loading beats the option; 0 means the backend's default (every core)
    assert effective_threads({}, {"intra_op_num_threads": 2}, 4) == 2
    assert effective_threads({"threads": 2}, {"intra_op_num_threads": 0}, 4) == 4
    assert effective_threads({}, {"threads": "4"}, 4) == 4
    assert effective_threads({"threads": 1}, None, 4) == 1
    info = BackendInfo("ort", "x", {}, roles=[])
    assert list(every_core_variants(_plan(("ort", {}, [])), SYSTEM, {"ort": info})) == ["ort"]


def test_the_report_lists_it_in_json_table_and_markdown(tmp_path) -> None:
    from infbench.sessions.reader import open_session

    path = make_session(tmp_path / "s.infb", {"a": Backend(), "b": Backend(options={"threads": 1})})
    with open_session(path) as reader:
        # the made session's system has no core count: the check falls back to this machine's
        report = build_report(reader, n_boot=50)
        warnings = every_core_warning(reader.plan, reader.system)
    assert list(report.warnings) == warnings
    assert warnings and "a (threads unset" in warnings[0]
    assert json.loads(json_text(report))["warnings"] == warnings
    buf = io.StringIO()
    print_results_table(Console(file=buf, width=250, color_system=None), report)
    assert "every core in use: a (threads unset" in " ".join(buf.getvalue().split())
    assert f"> ⚠ {warnings[0]}" in results_markdown(report)
