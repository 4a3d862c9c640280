"""SnapshotBuilder: live stats close to exact, incremental == from scratch, rewind, exact final numbers."""

from __future__ import annotations

import numpy as np

from infbench.analysis.summary import backend_results
from infbench.snapshot import SnapshotBuilder
from tests.tui.synthetic import T0, S, synthetic_store


def test_incremental_matches_scratch_and_rewind() -> None:
    store = synthetic_store()
    inc = SnapshotBuilder(store)
    for k in range(1, 40):
        snap = inc.build(T0 + k * S // 10)
    scratch = SnapshotBuilder(store).build(T0 + 39 * S // 10)
    for a, b in zip(snap.backends, scratch.backends):
        assert a.count == b.count and a.p50_ms == b.p50_ms
        assert np.array_equal(a.hist, b.hist)
        assert np.allclose(a.tl_med, b.tl_med) and np.array_equal(a.tl_t, b.tl_t)
    back = inc.build(T0 + S)  # rewind recomputes
    fresh = SnapshotBuilder(store).build(T0 + S)
    assert [b.count for b in back.backends] == [b.count for b in fresh.backends]
    assert abs(back.t_s - 1.0) < 1e-9


def test_live_quantiles_within_bucket_width() -> None:
    store = synthetic_store()
    snap = SnapshotBuilder(store).build(T0 + 5 * S)
    for b in snap.backends:
        _, dur = store.samples(b.label, None, T0 + 5 * S + 1, "measure")
        exact = np.percentile(dur / 1e6, [50, 95, 99])
        assert np.allclose([b.p50_ms, b.p95_ms, b.p99_ms], exact, rtol=0.02)
        assert b.count == dur.size
    assert snap.backends[1].spikes and snap.unavailable["gpu"].startswith("NVML")
    assert snap.throttle_spans == ((4.0, 4.5),)


def test_final_numbers_identical_to_report() -> None:
    store = synthetic_store()
    snap = SnapshotBuilder(store).build(store.end_ns())
    assert snap.at_end and snap.outcome == "complete"
    report = backend_results(store)
    for b in snap.backends:
        lat = report[b.label]["latency_ms"]
        assert b.final and (b.p50_ms, b.p95_ms, b.p99_ms) == (lat["median"], lat["p95"], lat["p99"])
        assert b.count == report[b.label]["iterations"]
    assert min(b.rel_to_fastest for b in snap.backends if b.backend != "null") == 1.0
