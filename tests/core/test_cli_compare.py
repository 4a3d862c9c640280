"""`compare` CLI: one session per side (within-run CIs, with a note) and several per side (between sessions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infbench.cli import main
from infbench.records import BackendInfo, SampleBlock
from infbench.sessions.recorder import Recorder
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
        t = int(start[-1] + dur[-1]) + 300_000_000  # another backend's turn
    rec.close("complete")
    return path


def test_one_session_per_side_says_it_ignores_run_to_run_variation(tmp_path, capsys):
    a, b = _session(tmp_path / "a.infb", 1.0, 1), _session(tmp_path / "b.infb", 1.3, 2)
    assert main(["compare", str(a), str(b), "--format", "json", "--bootstrap", "200"]) == 1
    res = json.loads(capsys.readouterr().out)
    row = res["backends"]["x"]
    assert row["verdict"] == "slower" and row["ci_method"] == "turn bootstrap (12 turns) + between-process ±1.3 %"
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


def test_help_explains_several_sessions(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "A1 A2" in out and "run-to-run" in out
