"""analysis/blocks.py against numpy; slowdown detection (spikes.py, detection.py) on realistic generated runs."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.blocks import block_stats, call_blocks, calls_per_block, in_turn_gaps, weighted_median
from infbench.analysis.detection import SlowdownTracker
from infbench.analysis.findings import detect_episodes, turn_ends
from infbench.analysis.spikes import SpikeDetector, detect_spikes
from infbench.testing.streams import Slowdown, StreamSpec, generate_store, planted_windows

BLOCK_NS = 100_000_000


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


def test_call_blocks_match_numpy_and_keep_their_place_in_the_series():
    rng = np.random.default_rng(1)
    dur = rng.integers(1_000_000, 3_000_000, 1003)
    gap = rng.integers(1_000, 9_000, 1003)
    start = np.cumsum(dur + gap) - dur
    b = call_blocks(start, dur, 10, gap_ns=gap)
    assert len(b) == 101 and b.count.tolist() == [10] * 100 + [3]
    for i in (0, 57, 100):
        sl = slice(10 * i, 10 * i + 10)
        assert b.median_ns[i] == pytest.approx(np.median(dur[sl]))
        assert b.p90_ns[i] == pytest.approx(np.percentile(dur[sl], 90))
        assert b.t0_ns[i] == start[sl][0] and b.t1_ns[i] == start[sl][-1] + dur[sl][-1]
        assert b.cycle_ns[i] == pytest.approx((dur[sl] + gap[sl]).mean())
    # the second half alone, indexed by its place in the whole series, forms the same blocks
    half = call_blocks(start[500:], dur[500:], 10, index=np.arange(500, 1003), gap_ns=gap[500:])
    assert half.median_ns.tolist() == b.median_ns[50:].tolist()
    assert calls_per_block(2e6) == 50 and calls_per_block(160e6) == 1 and calls_per_block(float("nan")) == 1


def test_in_turn_gaps_leave_out_the_schedule():
    start = np.array([0, 110, 220, 1000, 1105])
    dur = np.array([100, 100, 100, 100, 100])
    # a turn ended at 330: the wait from 320 to 1000 was other backends' turns, not lost time
    assert in_turn_gaps(start, dur, np.array([330])).tolist() == [0, 10, 10, 0, 5]
    assert in_turn_gaps(start, dur, None, max_gap_ns=50).tolist() == [0, 10, 10, 0, 5]
    assert in_turn_gaps(start[3:], dur[3:], np.array([330]), prev_end_ns=320).tolist() == [0, 5]


RATES_MS = (2, 10, 40, 160, 1000)


def _episodes(spec: StreamSpec):
    store = generate_store(spec)
    return detect_episodes(store, spec.label)[0], store


@pytest.mark.parametrize("call_ms", RATES_MS)
def test_stationary_ten_minutes_at_most_one_false_alarm(call_ms):
    spec = StreamSpec(call_ms=call_ms, duration_s=600, backends=2, seed=call_ms, periodic_s=37.0)
    episodes, _ = _episodes(spec)
    assert len(episodes) <= 1, [e.headline() for e in episodes]


@pytest.mark.parametrize("call_ms", RATES_MS)
@pytest.mark.parametrize("face", ["slow", "quota"])
def test_two_fold_slowdowns_of_three_seconds_are_found_at_every_rate(call_ms, face):
    cause = "contention" if face == "slow" else "cgroup"
    slow = tuple(Slowdown(t, t + 3.0 + (t % 5), 2.0, face, cause) for t in (60.0, 130.0, 200.0))
    spec = StreamSpec(call_ms=call_ms, duration_s=260, seed=7 + call_ms, slowdowns=slow)
    episodes, store = _episodes(spec)
    planted = planted_windows(spec)
    margin = 2 * int(call_ms * 1e6) + 500_000_000
    hit = [any(e.t_start_ns < b + margin and a - margin < e.t_end_ns for e in episodes) for a, b in planted]
    good = [any(e.t_start_ns < b + margin and a - margin < e.t_end_ns for a, b in planted) for e in episodes]
    assert all(hit) and all(good), [((e.t_start_ns - store.t0_ns) / 1e9, e.headline()) for e in episodes]
    assert all(e.ratio >= 1.5 and e.backend == "ort" for e in episodes)


def test_a_quota_throttle_shows_in_throughput_not_in_the_median():
    # 2 ms calls under a 0.5-CPU quota: 25 calls fit in each 50 ms the quota allows; the median does not move
    spec = StreamSpec(call_ms=2, duration_s=60, seed=3, slowdowns=(Slowdown(30, 36, 2.0, "quota", "cgroup"),))
    (ep,), _ = _episodes(spec)
    assert ep.metric == "throughput" and ep.faces["throughput"] == pytest.approx(2.0, rel=0.1)
    assert ep.faces["median"] < 1.05 and ep.lost_ms == pytest.approx(3000, rel=0.2)


def test_online_feeding_equals_offline():
    spec = StreamSpec(call_ms=10, duration_s=90, seed=4, slowdowns=(Slowdown(40, 45, 1.8),))
    store = generate_store(spec)
    start, dur = store.samples("ort", phase="measure")
    ends = turn_ends(store, "ort")
    offline = SlowdownTracker("ort")
    whole = offline.feed(start, dur, ends, final=True)
    online, found = SlowdownTracker("ort"), []
    for a in range(0, start.size, 777):
        found += online.feed(start[a : a + 777], dur[a : a + 777], ends, final=False)
    found += online.feed(start[:0], dur[:0], ends, final=True)
    assert sorted(found, key=lambda f: f.t_start_ns) == sorted(whole, key=lambda f: f.t_start_ns)
    assert [e.to_dict() for e in online.episodes(found)] == [e.to_dict() for e in offline.episodes(whole)]
    assert len(online.episodes(found)) == 1


def test_too_few_calls_says_what_detection_needs():
    spec = StreamSpec(call_ms=1000, duration_s=11, warmup_calls=1, seed=1)
    episodes, store = _episodes(spec)
    status = detect_episodes(store, "ort")[1]
    assert episodes == [] and not status.active
    assert status.message() == f"slowdown detection needs ≥ 12 measured calls; have {status.calls}"
    assert 5 <= status.calls < 12


def test_spike_detector_reports_only_what_is_worth_a_look():
    rng = np.random.default_rng(2)
    dur = (10e6 * rng.lognormal(0, 0.03, 4000)).astype(np.int64)
    dur[2000:2010] *= 3  # one slow block: 100 ms, not worth an alarm
    dur[3000:3100] = (dur[3000:3100] * 1.05).astype(np.int64)  # ×1.05: inside the noise floor of a spike
    start = np.cumsum(dur + 5_000) - dur
    b = call_blocks(start, dur, 10)
    assert detect_spikes(b) == []
    assert len(detect_spikes(b, min_blocks=1, min_span_ns=0)) == 1
    det = SpikeDetector(backend="x")
    dur[1000:1300] *= 2
    live = det.update(call_blocks(np.cumsum(dur + 5_000) - dur, dur, 10).select(slice(0, 120)))
    assert live == [] and det.active is not None and det.active.metric in ("median", "p90", "cycle")
