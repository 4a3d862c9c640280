"""Sweep analysis on known inputs: grid, labels, Pareto front, recommendation and its margin."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.sweep import (
    GAIN,
    NO_DEFAULT,
    NO_GAIN,
    config_label,
    grid_configs,
    is_default_config,
    pareto_front,
    recommend,
    sweep_points,
    sweep_summary,
)


def result(median: float | None, sps: float | None, status: str = "ok") -> dict:
    return {
        "status": status,
        "latency_ms": None if median is None else {"median": median},
        "samples_per_s": sps,
    }


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
    assert is_default_config({"execution_mode": "sequential", "batch": 1})
    assert is_default_config({})
    assert not is_default_config({"threads": 1})
    assert not is_default_config({"batch": 8})


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
    backends = {"d": result(2.0, 500), "x": result(1.0, 1000)}
    grid = [
        {"label": "d", "options": {}, "default": True},
        {"label": "x", "options": {"threads": 1}, "default": False},
    ]
    s = sweep_summary(backends, grid, "d", "latency")
    assert s["grid"] == grid and s["pareto"] == ["x"] and s["default"] == "d"
    assert s["recommendation"]["label"] == "x" and s["objective"] == "latency"
