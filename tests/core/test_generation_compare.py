"""`compare` of two generate sessions: verdicts on time to first token (median) and inter-token latency (p99),
JSON and table; a regression of ITL exits 1; sessions of another task or generation length are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infbench.cli import main
from tests.analysis.gen_synth import gen_run


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("gen")
    out = {
        "a": d / "a.infb",
        "a2": d / "a2.infb",
        "b": d / "b.infb",
    }
    gen_run(duration_s=4.0, seed=1, throttle=False, path=out["a"])
    gen_run(duration_s=4.0, seed=2, throttle=False, path=out["a2"])
    gen_run(
        duration_s=4.0, seed=3, throttle=True, throttle_s=0.0, path=out["b"]
    )  # slow's ITL ×1.6 throughout
    return out


def test_same_generation_gives_no_verdict_and_exit_0(sessions: dict[str, Path], capsys) -> None:
    args = ["compare", str(sessions["a"]), str(sessions["a2"]), "--format", "json", "--bootstrap", "200"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    for label in ("fast", "slow"):
        gen = res["backends"][label]["generation"]
        assert gen["ttft"]["judged_by"] == "median" and gen["itl"]["judged_by"] == "p99"
        assert gen["ttft"]["verdict"] == gen["itl"]["verdict"] == "no significant difference"
    assert not res["regression"]


def test_a_slower_itl_is_a_regression_judged_on_its_p99(
    sessions: dict[str, Path], capsys, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["compare", str(sessions["a"]), str(sessions["b"]), "--format", "json", "--bootstrap", "200"]
    assert main(args) == 1
    res = json.loads(capsys.readouterr().out)
    slow = res["backends"]["slow"]["generation"]
    assert slow["itl"]["verdict"] == "slower" and slow["itl"]["regression"]
    assert 1.4 < slow["itl"]["p99_ratio"] < 1.8 and slow["itl"]["p99_ratio_ci95"][0] > 1.05
    assert slow["ttft"]["verdict"] == "no significant difference"  # prefill was not throttled
    assert res["backends"]["fast"]["generation"]["itl"]["verdict"] == "no significant difference"
    assert main(["compare", str(sessions["a"]), str(sessions["b"]), "--bootstrap", "200"]) == 1
    out = capsys.readouterr().out
    assert "generation: B/A" in out and "TTFT B/A" in out and "ITL p99 B/A" in out
    table = out[out.index("generation: B/A") :].split("\n95 % CIs")[0].split("\nnote:")[0]
    assert "1.6" in table and max(len(line) for line in table.splitlines()) <= 80


def test_several_sessions_per_side_compare_session_values(sessions: dict[str, Path], capsys) -> None:
    a = [str(sessions["a"]), str(sessions["a2"])]
    args = ["compare", *a, "--", str(sessions["b"]), "--format", "json"]
    main(args)
    res = json.loads(capsys.readouterr().out)
    itl = res["backends"]["slow"]["generation"]["itl"]
    assert itl["ci_method"] == "between-session t interval (2 vs 1 sessions)"
    assert len(itl["session_p99s_a"]) == 2 and "median_ratio" not in itl


def test_generate_and_prefill_sessions_are_different_workloads(
    sessions: dict[str, Path], tmp_path, capsys
) -> None:
    from tests.core.session_maker import Backend, make_session

    prefill = make_session(tmp_path / "p.infb", {"fast": Backend("torch")}, model="gpt2-tiny", batch=2)
    assert main(["compare", str(sessions["a"]), str(prefill)]) == 2
    assert "task generate" in capsys.readouterr().err
