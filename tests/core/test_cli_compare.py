"""`compare` CLI: one session per side (within-run CIs, with a note) and several per side (between sessions);
sessions of different workloads or options; backend aliases; the table at 80 columns; --help."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infbench.cli import main
from infbench.records import BackendInfo, SampleBlock, TurnRecord
from infbench.sessions.recorder import Recorder
from tests.core.session_maker import Backend, make_session
from tests.sessions.synth import T0, plan_dict


def _session(path: Path, level: float, seed: int, turns: int = 12, per: int = 200) -> Path:
    """Backend `x`: `turns` turns of `per` 1 ms calls, each turn's level varying by 2 %, whole run × `level`."""
    rng = np.random.default_rng(seed)
    rec = Recorder(path)
    rec.on_start(plan_dict(["x"]), {}, T0, 0.0)
    rec.on_backend(BackendInfo("x", "null", {}, status="done"))
    t = T0
    for _ in range(turns):
        dur = (level * 1e6 * np.exp(rng.normal(0, 0.02)) * rng.lognormal(0, 0.05, per)).astype(np.int64)
        start = t + np.concatenate([[0], np.cumsum(dur + 1000)[:-1]])
        rec.on_samples(SampleBlock("x", "measure", start, dur, np.zeros(per, np.int32)))
        rec.on_turn(TurnRecord("x", "measure", int(start[0]), int(start[-1] + dur[-1]), per, int(dur.sum())))
        t = int(start[-1] + dur[-1]) + 300_000_000  # another backend's turn
    rec.close("complete")
    return path


def test_one_session_per_side_says_it_ignores_run_to_run_variation(tmp_path, capsys):
    a, b = _session(tmp_path / "a.infb", 1.0, 1), _session(tmp_path / "b.infb", 1.3, 2)
    assert main(["compare", str(a), str(b), "--format", "json", "--bootstrap", "200"]) == 1
    res = json.loads(capsys.readouterr().out)
    row = res["backends"]["x"]
    assert (
        row["verdict"] == "slower"
        and row["ci_method"] == "turn bootstrap (12 turns) + between-process ±1.3 %"
    )
    assert res["variance"] == "within each session only" and "ignores run-to-run variation" in res["note"]
    assert res["threshold"] == 0.05 and res["threshold_source"] == "default"
    assert main(["compare", str(a), "--", str(a), "--bootstrap", "200"]) == 0
    out = capsys.readouterr().out
    assert "ignores run-to-run" in out and "turn bootstrap" in out


def test_several_sessions_per_side_use_the_spread_between_them(tmp_path, capsys):
    a = [str(_session(tmp_path / f"a{i}.infb", lv, i)) for i, lv in enumerate((1.0, 1.05, 0.96))]
    same = [str(_session(tmp_path / f"s{i}.infb", lv, 10 + i)) for i, lv in enumerate((1.03, 0.97, 1.02))]
    slow = [str(_session(tmp_path / f"b{i}.infb", lv, 20 + i)) for i, lv in enumerate((1.3, 1.33, 1.27))]
    assert main(["compare", *a, "--", *same, "--format", "json", "--threshold", "0%"]) == 0
    res = json.loads(capsys.readouterr().out)
    row = res["backends"]["x"]
    assert row["ci_method"] == "between-session t interval (3 vs 3 sessions)" and res["note"] is None
    assert row["verdict"] == "no significant difference" and len(row["session_medians_a"]) == 3
    assert main(["compare", *a, "--", *slow, "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["backends"]["x"]["median_ratio"] > 1.2
    assert main(["compare", *a, "--", slow[0], "--threshold", "0%"]) == 1  # 3 vs 1: the spread comes from A
    assert "between-session t interval (3 vs 1 sessions)" in capsys.readouterr().out


@pytest.mark.parametrize("tail", [["b.infb", "c.infb"], ["--"], ["--", "b.infb", "--", "c.infb"]])
def test_bad_session_lists_are_one_line_errors(tmp_path, capsys, tail):
    a = _session(tmp_path / "a.infb", 1.0, 1)
    for name in ("b.infb", "c.infb"):
        _session(tmp_path / name, 1.0, 2)
    argv = ["compare", str(a)] + [x if x == "--" else str(tmp_path / x) for x in tail]
    assert main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_help_explains_several_sessions_and_like_with_like(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "A1 A2" in out and "run-to-run" in out
    assert "95 % CIs" in out and "%%" not in out and "--force" in out and "(default 5 %)" in out


def _pair(tmp_path, a_kw=None, b_kw=None, a_opts=None, b_opts=None, level=1.0):
    a = make_session(
        tmp_path / "a.infb", {"onnxruntime": Backend(options=a_opts or {})}, seed=1, **(a_kw or {})
    )
    b = make_session(
        tmp_path / "b.infb",
        {"onnxruntime": Backend(options=b_opts or {}, median_ms=level)},
        seed=2,
        **(b_kw or {}),
    )
    return str(a), str(b)


@pytest.mark.parametrize(
    ("b_kw", "needle"),
    [
        ({"model": "bert-small"}, "model bert-tiny (A) vs bert-small (B)"),
        ({"batch": 8}, "batch 1 (A) vs 8 (B)"),
        ({"seq": 64}, "seq 16 (A) vs 64 (B)"),
        ({"seq_dist": "uniform:8-16"}, "seq-dist fixed (A) vs uniform:8-16 (B)"),
        ({"corpus": "builtin"}, "corpus none (random ids) (A) vs builtin (B)"),
    ],
)
def test_different_workloads_are_refused_unless_forced(tmp_path, capsys, b_kw, needle):
    a, b = _pair(tmp_path, b_kw=b_kw, level=1.5)
    needle = needle.replace("(A)", f"({a})").replace("(B)", f"({b})")
    assert main(["compare", a, b]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert needle in captured.err and "--force" in captured.err
    assert main(["compare", a, b, "--force", "--bootstrap", "100"]) == 1  # B is 1.5× slower: still judged
    out = capsys.readouterr().out
    assert "warning: different workloads, compared because of --force" in out and needle in out
    assert main(["compare", a, b, "--force", "--bootstrap", "100", "--format", "json"]) == 1
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert res["differences"]["workload"] == [needle] and res["differences"]["forced"] is True
    assert needle in captured.err


def test_same_workload_has_no_differences(tmp_path, capsys):
    a, b = _pair(tmp_path)
    assert main(["compare", a, b, "--bootstrap", "100", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["differences"] == {"workload": [], "options": [], "forced": False}
    assert captured.err == ""


def test_only_options_differ_compares_with_a_warning(tmp_path, capsys):
    a, b = _pair(tmp_path, b_opts={"threads": 1, "batch": 1})  # batch 1 as an option is the plan's batch 1
    assert main(["compare", a, b, "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert (
        f"warning: backend options differ, so the ratios include their effect: onnxruntime options defaults "
        f"({a}) vs threads=1 ({b})" in " ".join(out.split())
    )
    assert "different workloads" not in out
    assert main(["compare", a, b, "--bootstrap", "100", "--format", "json"]) == 0
    captured = capsys.readouterr()
    expected = f"onnxruntime options defaults ({a}) vs threads=1 ({b})"
    assert json.loads(captured.out)["differences"]["options"] == [expected]
    assert "warning: backend options differ" in captured.err


def test_a_sweep_configurations_batch_is_workload(tmp_path, capsys):
    a, b = _pair(tmp_path, b_opts={"batch": 8})
    assert main(["compare", a, b]) == 2
    assert f"batch 1 ({a}) vs 8 ({b})" in capsys.readouterr().err


def test_several_sessions_per_side_name_the_odd_one(tmp_path, capsys):
    a1 = make_session(tmp_path / "a1.infb", {"onnxruntime": Backend()}, seed=1)
    a2 = make_session(tmp_path / "a2.infb", {"onnxruntime": Backend()}, seed=2)
    b1 = make_session(tmp_path / "b1.infb", {"onnxruntime": Backend()}, seed=3)
    b2 = make_session(tmp_path / "b2.infb", {"onnxruntime": Backend()}, seed=4, batch=4)
    argv = ["compare", str(a1), str(a2), "--", str(b1), str(b2)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"batch 1 ({a1}, {a2}, {b1}) vs 4 ({b2})" in err
    assert main([*argv, "--force", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["differences"]["forced"] is True


def test_backend_aliases_and_unknown_names(tmp_path, capsys):
    infos = {"onnxruntime": Backend(), "openvino": Backend(engine="openvino"), "null": Backend(engine="null")}
    a = str(make_session(tmp_path / "a.infb", infos, seed=1))
    b = str(make_session(tmp_path / "b.infb", infos, seed=2))
    for alias, label in (
        ("ort", "onnxruntime"),
        ("ov", "openvino"),
        ("OpenVINO", "openvino"),
        ("noop", "null"),
    ):
        assert main(["compare", a, b, "--backend", alias, "--format", "json", "--bootstrap", "100"]) == 0
        assert list(json.loads(capsys.readouterr().out)["backends"]) == [label]
    assert main(["compare", a, b, "--backend", "trt"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--backend trt" in err
    assert "onnxruntime (ort), openvino (ov), null (noop)" in err
    assert main(["compare", a, b, "--backend", "torch"]) == 2  # a backend these sessions did not run
    assert "no torch in A session" in capsys.readouterr().err


def test_an_alias_with_several_configurations_asks_for_the_label(tmp_path, capsys):
    infos = {"onnxruntime": Backend(), "onnxruntime[threads=1]": Backend(options={"threads": 1})}
    a = str(make_session(tmp_path / "a.infb", infos, seed=1))
    b = str(make_session(tmp_path / "b.infb", infos, seed=2))
    assert main(["compare", a, b, "--backend", "ort", "--format", "json", "--bootstrap", "100"]) == 0
    assert list(json.loads(capsys.readouterr().out)["backends"]) == ["onnxruntime"]  # the label itself
    two = {"ort t1": Backend(options={"threads": 1}), "ort t2": Backend(options={"threads": 2})}
    c = str(make_session(tmp_path / "c.infb", two, seed=1))
    assert main(["compare", c, c, "--backend", "ort"]) == 2
    assert (
        "2 onnxruntime configurations (ort t1, ort t2); give one of these labels" in capsys.readouterr().err
    )
    assert main(["compare", c, c, "--backend", "ort t2", "--format", "json", "--bootstrap", "100"]) == 0


def test_table_keeps_every_ci_whole_at_80_columns(tmp_path, capsys, monkeypatch):
    infos = {
        "onnxruntime[threads=1]": Backend(options={"threads": 1}),
        "openvino": Backend(engine="openvino"),
    }
    slow = {
        "onnxruntime[threads=1]": Backend(options={"threads": 1}, median_ms=1.3),
        "openvino": Backend(engine="openvino"),
    }
    a = str(make_session(tmp_path / "a.infb", infos, seed=1))
    b = str(make_session(tmp_path / "b.infb", slow, seed=2))
    assert main(["compare", a, b, "--format", "json", "--bootstrap", "100"]) == 1
    res = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["compare", a, b, "--bootstrap", "100"]) == 1
    out = capsys.readouterr().out
    table = out[: out.index("95 % CIs")]
    assert max(len(line) for line in table.splitlines()) <= 80
    for row in res["backends"].values():
        for key in ("median_ratio_ci95", "p99_ratio_ci95"):
            lo, hi = row[key]
            assert f"[{lo:.3f}–{hi:.3f}]" in table
        assert f"{row['median_ratio']:.3f}" in table and f"p={row['p_value']:.2g}" in table
    assert "slower" in table and "no" in table and "significant" in table  # the verdict wraps at spaces
    assert "95 % CIs" in out  # the method(s), under the table
