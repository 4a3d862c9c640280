"""analysis/blocks.py against numpy; analysis/spikes.py on synthetic series with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.blocks import block_stats, weighted_median
from infbench.analysis.spikes import SpikeDetector, detect_spikes
from tests.analysis.synth import BLOCK_NS, blocks, match, plant_spikes


def test_block_stats_matches_numpy_per_block():
    rng = np.random.default_rng(0)
    start = np.sort(rng.integers(0, 20 * BLOCK_NS, 5000)) + 7
    dur = rng.integers(1_000, 1_000_000, start.size)
    b = block_stats(start, dur, BLOCK_NS)
    assert int(b.count.sum()) == start.size and np.all(np.diff(b.t0_ns) > 0)
    for i, t0 in enumerate(b.t0_ns):
        d = dur[(start >= t0) & (start < t0 + BLOCK_NS)].astype(float)
        assert b.count[i] == d.size
        assert b.median_ns[i] == pytest.approx(np.median(d))
        assert b.p90_ns[i] == pytest.approx(np.percentile(d, 90))
        assert b.max_ns[i] == d.max() and b.mean_ns[i] == pytest.approx(d.mean())
    assert len(block_stats(np.array([], np.int64), np.array([], np.int64))) == 0
    assert b.since(int(b.t0_ns[5])).t0_ns[0] == b.t0_ns[5]
    assert b.to_dict()["count"] == b.count.tolist()


def test_blocks_skip_gaps_and_align_to_origin():
    b = block_stats(np.array([5, 10, 3 * BLOCK_NS + 1]), np.array([1, 3, 9]), BLOCK_NS)
    assert b.t0_ns.tolist() == [0, 3 * BLOCK_NS] and b.count.tolist() == [2, 1]
    assert b.median_ns.tolist() == [2.0, 9.0]
    assert weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1, 5, 1])) == 2.0


@pytest.mark.parametrize("noise", ["lognormal", "gamma"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_stationary_ten_minutes_at_most_one_false_alarm(noise, seed):
    b = blocks(6000, seed, noise=noise)  # 10 min at 10 blocks/s
    assert len(detect_spikes(b)) <= 1


def _as_blocks(spikes):
    return [(s.t_start_ns // BLOCK_NS, s.t_end_ns // BLOCK_NS) for s in spikes]


@pytest.mark.parametrize("noise", ["lognormal", "gamma"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_spikes_recall_and_precision(noise, seed):
    level, planted = plant_spikes(3000, 25, seed)
    spikes = detect_spikes(blocks(3000, seed, level=level, noise=noise), backend="ort")
    recall, precision = match(_as_blocks(spikes), planted)
    assert recall >= 0.9 and precision >= 0.9
    assert all(s.backend == "ort" and s.ratio > 1.1 and s.metric in ("median", "p90") for s in spikes)


def test_online_updates_equal_offline_and_active_spike():
    level, _ = plant_spikes(1500, 10, 4)
    b = blocks(1500, 4, level=level)
    det, online = SpikeDetector(), []
    for k in range(0, len(b), 7):
        online += det.update(b.select(slice(k, k + 7)))
    assert online + det.flush() == detect_spikes(b)
    level = np.ones(300)
    level[250:] = 3.0
    det = SpikeDetector(backend="x")
    assert det.update(blocks(300, 1, level=level)) == [] and det.active is not None
    assert det.active.t_start_ns == 250 * BLOCK_NS and det.flush()[0].to_dict()["backend"] == "x"


def test_blocks_with_too_few_calls_are_ignored():
    level = np.ones(400)
    level[300] = 5.0
    b = blocks(400, 2, level=level)
    count = b.count.copy()
    count[300] = 2
    thin = type(b)(b.block_ns, b.t0_ns, count, b.median_ns, b.p90_ns, b.max_ns, b.mean_ns)
    assert len(detect_spikes(b)) == 1 and detect_spikes(thin) == []
