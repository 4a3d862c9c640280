"""analysis/drift.py: planted steps, drift, warm-up, burst vs sustained, stationary false alarms."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.drift import (
    CusumDetector,
    burst_vs_sustained,
    change_points,
    classify_shift,
    detect_shifts,
    warmup_end,
)
from tests.analysis.synth import BLOCK_NS, blocks, match


def _planted_steps(seed: int, n: int = 3000) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    level, cur, at = np.ones(n), 1.0, []
    for k in sorted(rng.choice(np.arange(2, n // 100), 6, replace=False) * 100):
        cur *= rng.choice([0.8, 0.85, 1.15, 1.25])
        level[k:] = cur
        at.append(int(k))
    return level, at


def _windows(shifts):
    return [(s.t_ns // BLOCK_NS, s.t_end_ns // BLOCK_NS + 1) for s in shifts]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_offline_steps_recall_precision_and_kind(seed):
    level, at = _planted_steps(seed)
    # Gamma noise is heavier (CV 0.5 per call): more calls per block keep the location within ± 1 block.
    noise, per_block = ("gamma", 300) if seed % 2 else ("lognormal", 100)
    b = blocks(3000, seed, level=level, noise=noise, per_block=per_block)
    shifts = detect_shifts(b, backend="ov")
    recall, precision = match(_windows(shifts), [(k, k + 1) for k in at])
    assert recall >= 0.9 and precision >= 0.9
    assert all(s.kind == "step" and s.backend == "ov" for s in shifts)
    for s in shifts:
        k = round(s.t_ns / BLOCK_NS)
        assert s.ratio == pytest.approx(level[k + 2] / level[k - 3], rel=0.03)


def test_online_cusum_steps_recall_and_precision_pooled_over_seeds():
    hits, planted_n, detected, good = 0, 0, 0, 0
    for seed in range(6):
        level, at = _planted_steps(seed)
        alarms = CusumDetector().update(blocks(3000, seed, level=level))
        r, p = match(_windows(alarms), [(k, k + 1) for k in at])
        hits += r * len(at)
        planted_n += len(at)
        good += p * len(alarms)
        detected += len(alarms)
    assert hits / planted_n >= 0.9 and good / detected >= 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stationary_no_change_points_and_few_cusum_alarms(seed):
    b = blocks(6000, seed, noise="gamma" if seed % 2 else "lognormal")
    assert change_points(b.median_ns) == []
    assert len(CusumDetector().update(b)) <= 1
    assert warmup_end(b) is None


def test_cusum_ignores_short_spikes_and_incremental_equals_batch():
    level = np.ones(1000)
    level[400:405] = 2.0
    b = blocks(1000, 5, level=level)
    assert CusumDetector().update(b) == []
    level[600:] = 1.3
    b = blocks(1000, 5, level=level)
    det, online = CusumDetector(backend="t"), []
    for k in range(0, len(b), 13):
        online += det.update(b.select(slice(k, k + 13)))
    assert online == CusumDetector(backend="t").update(b)
    assert len(online) == 1 and abs(online[0].t_ns // BLOCK_NS - 600) <= 2 and online[0].ratio > 1.2
    # after the alarm the detector recalibrates on the new level: the blocks' own median after the step
    assert det.level_ns == pytest.approx(float(np.median(b.median_ns[620:])), rel=0.02)


def test_drift_warmup_and_burst_vs_sustained():
    level = np.ones(3000)
    level[:30] = np.linspace(3.0, 1.0, 30)  # warm-up
    level[1000:2000] = np.linspace(1.0, 1.3, 1000)  # slow drift, then plateau
    level[2000:] = 1.3
    b = blocks(3000, 1, level=level)
    w = warmup_end(b)
    assert w is not None and 20 <= w // BLOCK_NS <= 35
    steady = b.since(w)
    shifts = detect_shifts(steady)
    assert len(shifts) == 1 and shifts[0].kind == "drift" and shifts[0].ratio == pytest.approx(1.3, rel=0.05)
    assert 1000 <= shifts[0].t_ns // BLOCK_NS <= 1300 and shifts[0].t_end_ns // BLOCK_NS >= 1700
    bs = burst_vs_sustained(steady, burst_s=5.0)
    assert bs["sustained_slowdown"] and bs["ratio"] > 1.1
    assert 1000 <= bs["slowdown_start_ns"] // BLOCK_NS <= 1300
    flat = burst_vs_sustained(blocks(600, 2), burst_s=5.0)
    assert not flat["sustained_slowdown"] and flat["slowdown_start_ns"] is None
    assert flat["ratio"] == pytest.approx(1.0, abs=0.03)


def test_classify_shift_step_versus_ramp():
    rng = np.random.default_rng(0)
    noise = rng.lognormal(0, 0.01, 200)
    step = np.where(np.arange(200) < 100, 1.0, 1.2) * noise
    ramp = np.linspace(1.0, 1.2, 200) * noise
    assert classify_shift(step, 0, 100, 200) == "step"
    assert classify_shift(ramp, 0, 100, 200) == "drift"
