"""SnapshotBuilder: live stats close to exact, incremental == from scratch, rewind, exact final numbers,
throttle spans from the real sampler and monitors, and how long a backend has been loading.

Expected numbers are computed with numpy straight from the calls the synthetic run was fed, never from
infbench's own statistics.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from infbench.monitors.sampler import Sampler, default_monitors
from infbench.records import BackendInfo, Fanout, MonitorReading
from infbench.sessions.store import LiveStore
from infbench.tui.snapshot import SnapshotBuilder
from tests.monitors.conftest import FIXTURES, FakeTime, write
from tests.tui.synthetic import SPIKE_S, T0, THROTTLE_S, S, synthetic_run


def test_incremental_matches_scratch_and_rewind() -> None:
    run = synthetic_run()
    store = run.store
    inc = SnapshotBuilder(store)
    for k in range(1, 40):
        snap = inc.build(T0 + k * S // 10)
    scratch = SnapshotBuilder(store).build(T0 + 39 * S // 10)
    for a, b in zip(snap.backends, scratch.backends):
        assert a.count == b.count == run.measured(a.label, T0 + 39 * S // 10).size
        assert a.p50_ms == b.p50_ms
        assert np.array_equal(a.hist, b.hist)
        assert np.allclose(a.tl_med, b.tl_med) and np.array_equal(a.tl_t, b.tl_t)
    back = inc.build(T0 + S)  # rewind recomputes
    fresh = SnapshotBuilder(store).build(T0 + S)
    assert (
        [b.count for b in back.backends]
        == [b.count for b in fresh.backends]
        == [run.measured(b.label, T0 + S).size for b in back.backends]
    )
    assert abs(back.t_s - 1.0) < 1e-9


def test_live_quantiles_within_bucket_width() -> None:
    run = synthetic_run()
    t = T0 + 5 * S
    snap = SnapshotBuilder(run.store).build(t)
    assert not snap.at_end and [b.label for b in snap.backends] == ["onnxruntime", "openvino", "null"]
    for b in snap.backends:
        ms = run.measured(b.label, t) / 1e6
        exact = np.percentile(ms, [50, 95, 99])
        assert np.allclose([b.p50_ms, b.p95_ms, b.p99_ms], exact, rtol=0.02)
        assert b.count == ms.size and b.warmup_count == run.calls[b.label]["warmup"][1].size
        assert not b.final
    ov = snap.backends[1]
    assert len(ov.spikes) == 1 and SPIKE_S[0] < ov.spikes[0] < SPIKE_S[1]
    assert snap.unavailable["gpu"].startswith("NVML")
    assert snap.throttle_spans == (THROTTLE_S,) and not snap.throttle_active
    inside = SnapshotBuilder(run.store).build(T0 + int(4.2 * S))
    assert inside.throttle_spans == ((THROTTLE_S[0], None),) and inside.throttle_active


def test_final_numbers_are_the_exact_statistics_of_the_raw_calls() -> None:
    run = synthetic_run()
    snap = SnapshotBuilder(run.store).build(run.store.end_ns())
    assert snap.at_end and snap.outcome == "complete"
    for b in snap.backends:
        ms = run.measured(b.label).astype(np.float64) / 1e6
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        assert b.final and b.count == ms.size
        assert (b.p50_ms, b.p95_ms, b.p99_ms) == pytest.approx((p50, p95, p99), rel=1e-12)
        assert b.mean_ms == pytest.approx(ms.mean(), rel=1e-12)
        assert b.cv == pytest.approx(ms.std(ddof=1) / ms.mean(), rel=1e-9)
        assert b.throughput == pytest.approx(ms.size / (ms.sum() / 1e3), rel=1e-12)
    p50 = {b.label: b.p50_ms for b in snap.backends}
    fastest = min(p50["onnxruntime"], p50["openvino"])  # the null control is no competitor
    for b in snap.backends:
        if b.is_control:  # as the report: a control is the harness floor, it gets no ratio to the fastest
            assert b.label == "null" and b.rel_to_fastest is None
        else:
            assert b.rel_to_fastest == pytest.approx(p50[b.label] / fastest, rel=1e-12)


class _Script:
    """Rewrites the fixture tree after each tick for the next: `state(t)` is what the files hold at t s."""

    def __init__(
        self, root: Path, t0_ns: int, thermal_at: tuple[float, ...], cgroup_at: tuple[float, ...]
    ) -> None:
        self.root, self.t0_ns, self.thermal_at, self.cgroup_at = root, t0_ns, thermal_at, cgroup_at

    def state(self, t_s: float) -> None:
        """Each time in `thermal_at` / `cgroup_at` up to `t_s` has bumped that counter once."""
        pkg = 7 + 2 * sum(x <= t_s for x in self.thermal_at)
        for cpu in ("cpu2", "cpu3"):  # one package: both of its CPUs show the package's counter
            write(
                self.root, f"sys/devices/system/cpu/{cpu}/thermal_throttle/package_throttle_count", f"{pkg}\n"
            )
        nr = sum(x <= t_s for x in self.cgroup_at)
        write(
            self.root,
            "sys/fs/cgroup/user.slice/bench.scope/cpu.stat",
            f"usage_usec 1000000\nnr_periods {50 + 10 * nr}\nnr_throttled {4 + nr}\n"
            f"throttled_usec {25000 + 5000 * nr}\n",
        )

    def on_monitor(self, readings: list[MonitorReading]) -> None:
        """After the tick at t, prepare the tick at t + 0.5 s (the pressure monitor's 2 Hz)."""
        self.state((readings[0].t_ns - self.t0_ns) / 1e9 + 0.5)


def test_overlapping_throttle_signals_from_the_real_sampler_are_two_spans(tmp_path: Path) -> None:
    root = tmp_path / "sysfs"
    shutil.copytree(FIXTURES / "sysfs_intel", root)
    clock = FakeTime(start=100.0, limit=8.0)
    t0 = clock.clock_ns()
    # CPU thermal: counter rises in the 1 Hz readings at 2, 3, 4 s → on at 2 s, off at 5 s.
    # cgroup quota: counter rises in the 2 Hz readings at 3.5 … 6 s → on at 3.5 s, off at 6.5 s.
    script = _Script(root, t0, thermal_at=(2.0, 3.0, 4.0), cgroup_at=(3.5, 4.0, 4.5, 5.0, 5.5, 6.0))
    script.state(0.0)
    store = LiveStore()
    store.on_start({"model": "none"}, {}, t0, 0.0)
    monitors = [m for m in default_monitors(str(root)) if m.name in ("thermal", "pressure")]
    sampler = Sampler(
        monitors, Fanout(script, store), clock.clock_ns, monotonic=clock.monotonic, sleep=clock.sleep
    )
    sampler.start()
    assert clock.reached.wait(30), "the sampler thread never reached the end of the fake time"
    sampler.stop()
    assert [p.monitor for p in sampler.probes if p.usable] == ["pressure", "thermal"]
    events = [e for e in store.events() if e.kind.startswith("throttle")]
    assert [(e.kind, e.data["signal"], (e.t_ns - t0) / 1e9) for e in events] == [
        ("throttle_on", "cpu_thermal", 2.0),
        ("throttle_on", "cgroup", 3.5),
        ("throttle_off", "cpu_thermal", 5.0),
        ("throttle_off", "cgroup", 6.5),
    ]
    final = SnapshotBuilder(store).build()
    assert final.throttle_spans == ((2.0, 5.0), (3.5, 6.5)) and not final.throttle_active
    replay = SnapshotBuilder(store)
    expected = {
        1.5: ((), False),
        2.0: (((2.0, None),), True),
        4.0: (((2.0, None), (3.5, None)), True),
        5.5: (((2.0, 5.0), (3.5, None)), True),
        7.0: (((2.0, 5.0), (3.5, 6.5)), False),
    }
    for t_s, (spans, active) in expected.items():  # replayed forwards, as the replay screen does
        snap = replay.build(t0 + int(t_s * S))
        assert (snap.throttle_spans, snap.throttle_active) == (spans, active), t_s


@dataclass
class _PhasedInfo(BackendInfo):
    """A BackendInfo with the load-phase fields a runner may report (read with getattr by the snapshot)."""

    load_phase: str | None = None
    load_phase_t_ns: int | None = None


def test_live_loading_shows_the_time_since_loading_began_and_the_phase() -> None:
    store = LiveStore()
    store.on_start(
        {"model": "bert-tiny", "backends": [{"label": "torch", "backend": "torch", "options": {}}]},
        {},
        T0,
        0.0,
    )
    now = [T0 + S]
    builder = SnapshotBuilder(store, clock=lambda: now[0])
    assert builder.build().backends[0].status_text == "waiting to load"
    store.on_backend(BackendInfo("torch", "torch", {}, status="loading"))
    assert builder.build().backends[0].status_text == "loading… 0.0 s"  # first seen loading now
    now[0] += int(2.5 * S)
    b = builder.build().backends[0]
    assert (b.status, b.status_text, b.load_phase) == ("loading", "loading… 2.5 s", None)
    assert b.load_elapsed_s == pytest.approx(2.5)
    store.on_backend(
        _PhasedInfo("torch", "torch", {}, status="loading", load_phase="compile", load_phase_t_ns=now[0] - S)
    )
    b = builder.build().backends[0]
    assert (b.status_text, b.load_phase) == ("loading: compile 1.0 s (2.5 s in all)", "compile")
    store.on_backend(BackendInfo("torch", "torch", {}, status="loaded", load_ms=2600.0))
    b = builder.build().backends[0]
    assert (b.status_text, b.load_elapsed_s, b.load_ms) == ("loaded", None, 2600.0)


def test_the_panel_names_the_numerics_the_engine_reported_once_loaded() -> None:
    """Precision, quantization and compilation from the engine's load details appear next to the label."""
    from infbench.tui.snapshot import numerics_text
    from infbench.tui.widgets.backend_panel import stats_lines

    store = LiveStore()
    plan = {
        "model": "bert-tiny",
        "backends": [{"label": "onnxruntime[quant=int8]", "backend": "onnxruntime"}],
    }
    store.on_start(plan, {}, T0, 0.0)
    builder = SnapshotBuilder(store, clock=lambda: T0 + S)
    label = "onnxruntime[quant=int8]"
    assert builder.build().backends[0].numerics is None  # nothing reported before loading
    details = {"precision": "int8", "quant": "int8", "io": "bound"}
    store.on_backend(BackendInfo(label, "onnxruntime", {"quant": "int8"}, status="loaded", details=details))
    b = builder.build().backends[0]
    assert b.numerics == "int8"
    assert "onnxruntime[quant=int8] (onnxruntime) · int8" in str(stats_lines(b, 80)[0])
    assert numerics_text({"precision": "f32", "quant": "int8-weights"}) == "f32 · int8-weights"
    assert numerics_text({"precision": "f32", "quant": "none", "compile": True}) == "f32 · compiled"
    assert numerics_text({"io": "bound"}) is None and numerics_text(None) is None
