"""Sweep analysis on known inputs: grid, labels, Pareto front, recommendation and its margin."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infbench.analysis.sweep import (
    GAIN,
    NO_DEFAULT,
    NO_GAIN,
    ConfigResult,
    config_label,
    grid_configs,
    is_default_config,
    pareto_front,
    recommend,
    summarize_sweep,
    sweep_points,
)
from infbench.vocab import Verdict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sessions"


def result(median: float | None, sps: float | None, status: str = "ok") -> ConfigResult:
    return ConfigResult("", verdict=Verdict(status), median_ms=median, samples_per_s=sps)


def lognormal(median_ms: float, n: int = 2000, seed: int = 0) -> np.ndarray:
    return median_ms * 1e6 * np.random.default_rng(seed).lognormal(0.0, 0.05, n)


def test_grid_is_the_cartesian_product_in_order():
    grid = grid_configs({"threads": [1, 2], "execution_mode": ["sequential", "parallel"], "batch": []})
    assert grid == [
        {"threads": 1, "execution_mode": "sequential"},
        {"threads": 1, "execution_mode": "parallel"},
        {"threads": 2, "execution_mode": "sequential"},
        {"threads": 2, "execution_mode": "parallel"},
    ]


def test_labels_are_short_and_ordered():
    opts = {"batch": 8, "execution_mode": "parallel", "inter_threads": 1, "threads": 2}
    assert config_label("ort", opts) == "ort t2 i1 par b8"
    assert config_label("ov", {"hint": "throughput", "streams": 2}) == "ov s2 tput"
    assert config_label("x", {"zeta": 3}) == "x zeta=3"


def test_default_config_detection():
    declared = {
        "execution_mode": "sequential",
        "graph_opt": "all",
        "batch": 1,
    }  # threads: no declared default
    assert is_default_config({"execution_mode": "sequential", "batch": 1}, declared)
    assert is_default_config({}, declared)
    assert not is_default_config({"threads": 1}, declared)
    assert not is_default_config({"batch": 8}, declared)
    assert not is_default_config({"execution_mode": "parallel"}, declared)


def test_pareto_front_basic_and_ties():
    pts = {"a": (1.0, 100.0), "b": (2.0, 300.0), "c": (2.5, 250.0), "d": (1.0, 100.0), "e": (3.0, 300.0)}
    # c is dominated by b; e by b (same throughput, slower); a and d tie: neither dominates the other
    assert pareto_front(pts) == ["a", "b", "d"]
    assert pareto_front({}) == []
    assert pareto_front({"x": (float("nan"), 1.0), "y": (1.0, 1.0)}) == ["y"]


def test_failed_and_degraded_configs_are_excluded():
    backends = {
        "def": result(2.0, 500),
        "bad": result(None, None, "failed"),
        "deg": result(0.5, 4000, "degraded"),
        "good": result(1.0, 1000),
    }
    assert set(sweep_points(backends)) == {"def", "good"}
    rec = recommend(backends, "def", "latency")
    assert rec is not None and rec.label == "good"
    assert rec.margin == pytest.approx(2.0) and rec.margin_ci95 is None and rec.verdict == GAIN


def test_latency_recommendation_with_bootstrap_margin():
    backends = {"ort default": result(2.0, 500), "ort t2": result(1.5, 650), "ort t4": result(1.9, 900)}
    samples = {
        "ort default": lognormal(2.0, seed=1),
        "ort t2": lognormal(1.5, seed=2),
        "ort t4": lognormal(1.9),
    }
    rec = recommend(backends, "ort default", "latency", samples)
    assert rec.label == "ort t2" and rec.metric == "median_ms" and rec.value == 1.5
    assert rec.default_value == 2.0 and rec.verdict == GAIN
    lo, hi = rec.margin_ci95
    assert lo < rec.margin < hi and lo > 1.25 and hi < 1.42  # true ratio 2.0 / 1.5 = 1.333
    assert rec.to_dict()["margin_ci95"] == [lo, hi]


def test_latency_tie_breaks_on_throughput():
    backends = {"d": result(3.0, 300), "a": result(1.0, 100), "b": result(1.0, 200)}
    assert recommend(backends, "d", "latency").label == "b"


def test_small_difference_is_no_significant_gain():
    backends = {"def": result(2.0, 500), "x": result(1.98, 505)}
    samples = {"def": lognormal(2.0, seed=3), "x": lognormal(1.98, seed=4)}
    rec = recommend(backends, "def", "latency", samples)
    assert rec.label == "x" and rec.verdict == NO_GAIN
    assert rec.margin_ci95[0] < 1.05  # the CI reaches into the noise band


def test_default_is_best_gives_no_significant_gain():
    backends = {"ort default": result(1.0, 1000), "ort t1": result(1.4, 700)}
    rec = recommend(
        backends, "ort default", "latency", {"ort default": lognormal(1.0), "ort t1": lognormal(1.4)}
    )
    assert rec.label == "ort default" and rec.margin == 1.0 and rec.verdict == NO_GAIN
    assert "default" in rec.reason


def test_throughput_objective_plain_ratio():
    backends = {"def": result(1.0, 1000), "b8": result(4.0, 2000), "b4": result(2.0, 1900)}
    rec = recommend(backends, "def", "throughput")
    assert rec.label == "b8" and rec.metric == "samples_per_s" and rec.value == 2000
    assert rec.margin == pytest.approx(2.0) and rec.margin_ci95 is None and rec.verdict == GAIN
    near = recommend({"def": result(1.0, 1000), "x": result(1.0, 1020)}, "def", "throughput")
    assert near.label == "x" and near.verdict == NO_GAIN


def test_failed_default_and_nothing_ok():
    rec = recommend({"def": result(None, None, "failed"), "x": result(1.0, 10)}, "def")
    assert rec.label == "x" and rec.margin is None and rec.verdict == NO_DEFAULT
    assert recommend({"def": result(None, None, "failed")}, "def") is None
    with pytest.raises(ValueError):
        recommend({"def": result(1.0, 1.0)}, "def", "speed")


def test_sweep_summary_shape():
    d = ConfigResult("d", "onnxruntime", {}, True, Verdict.OK, 2.0, None, None, 500.0)
    x = ConfigResult("x", "onnxruntime", {"threads": 1}, False, Verdict.OK, 1.0, None, None, 1000.0)
    grid = [
        {"label": "d", "backend": "onnxruntime", "options": {}, "default": True},
        {"label": "x", "backend": "onnxruntime", "options": {"threads": 1}, "default": False},
    ]
    s = summarize_sweep([d, x], {"onnxruntime": "d"}, "latency").to_dict()
    assert s["grid"] == grid and s["pareto"] == ["x"] and s["default"] == "d"
    assert s["recommendation"]["label"] == "x" and s["objective"] == "latency"
    assert "by_backend" not in s and "defaults" not in s  # one engine: the single-backend shape


def test_several_engines_each_get_their_best_and_the_overall_is_one_of_them():
    rows = [
        ConfigResult("ort default", "onnxruntime", {}, True, Verdict.OK, 2.0, None, None, 500.0),
        ConfigResult("ort t1", "onnxruntime", {"threads": 1}, False, Verdict.OK, 1.0, None, None, 1000.0),
        ConfigResult("ov default", "openvino", {}, True, Verdict.OK, 3.0, None, None, 300.0),
        ConfigResult("ov t1", "openvino", {"threads": 1}, False, Verdict.FAILED, None, why="boom"),
    ]
    r = summarize_sweep(rows, {"onnxruntime": "ort default", "openvino": "ov default"}, "latency")
    assert r.several and r.by_backend["onnxruntime"].label == "ort t1"
    assert r.by_backend["openvino"].label == "ov default"  # the failed point does not compete
    assert r.recommendation == r.by_backend["onnxruntime"] and r.default == "ort default"
    d = r.to_dict()
    assert d["defaults"] == {"onnxruntime": "ort default", "openvino": "ov default"}
    assert d["by_backend"]["openvino"]["verdict"] == NO_GAIN


def test_a_control_is_shown_but_never_on_the_pareto_set_nor_recommended():
    rows = [
        ConfigResult("null default", "null", {}, True, Verdict.OK, 5e-5, None, None, 1e7, roles=("control",)),
        ConfigResult("ort default", "onnxruntime", {}, True, Verdict.OK, 2.0, None, None, 500.0),
        ConfigResult("ort t1", "onnxruntime", {"threads": 1}, False, Verdict.OK, 1.0, None, None, 1000.0),
    ]
    r = summarize_sweep(rows, {"null": "null default", "onnxruntime": "ort default"}, "latency")
    assert r.pareto == ("ort t1",) and r.recommendation.label == "ort t1"
    assert not r.several and r.by_backend == {} and r.default == "ort default"
    assert [c.label for c in r.configs] == ["null default", "ort default", "ort t1"]


def test_the_sweep_is_stored_in_the_plan_and_read_back():
    from infbench.plan.spec import BackendSpec, RunPlan, SweepSpec

    sweep = SweepSpec(
        objective="throughput",
        threshold=0.1,
        axes={"onnxruntime": {"threads": [1, 2]}},
        fixed={"onnxruntime": {"graph_opt": "basic"}},
        defaults={"onnxruntime": "ort default"},
        points=({"label": "ort default", "backend": "onnxruntime", "options": {}, "default": True},),
    )
    plan = RunPlan(backends=(BackendSpec("onnxruntime", "ort default"),), sweep=sweep)
    d = json.loads(json.dumps(plan.to_dict()))
    assert RunPlan.from_dict(d).sweep == sweep
    assert RunPlan.from_dict({**d, "sweep": None}).sweep is None
    legacy = {k: v for k, v in d.items() if k != "sweep"}  # sessions written before plans carried sweeps
    assert RunPlan.from_dict(legacy).sweep is None


def test_a_session_that_is_not_a_sweep_has_no_sweep_result():
    from infbench.analysis.sweep import sweep_result
    from infbench.sessions.reader import open_session

    with open_session(FIXTURES / "small.infb") as data:
        assert "sweep" not in data.plan or not data.plan["sweep"]
        assert sweep_result(data) is None
