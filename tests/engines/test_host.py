"""EngineHost + worker in real child processes: timing loop, turns, crashes, hangs, load errors."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.engines.base import ModelFiles
from infbench.engines.host import EngineHost, describe_exit
from infbench.errors import EngineFailure
from infbench.records import RunEvent, SampleBlock

NO_MODEL = ModelFiles("none", "none", None, None, ())


def make_host(backend: str, options: dict | None = None, timeout_s: float = 20.0):
    blocks: list[SampleBlock] = []
    events: list[RunEvent] = []
    host = EngineHost(
        backend,
        backend,
        options or {},
        NO_MODEL,
        [{"x": np.zeros(2)} for _ in range(5)],
        blocks.append,
        events.append,
        timeout_s=timeout_s,
    )
    return host, blocks, events


def test_null_engine_turns_ship_blocks_with_consistent_samples():
    host, blocks, _ = make_host("null")
    try:
        host.start()
        assert host.loaded["providers"] == ["none"]
        assert host.first["first_inference_ms"] >= 0
        assert host.rss_after_load_mb and host.rss_after_load_mb > 1
        warm = host.run_turn("warmup", calls=7)
        assert warm.calls == 7
        calls, busy, wall, t_begin, t_end = host.run_turn("measure", seconds=0.2)
        assert calls > 1000 and 0 < busy < wall and wall >= 0.2e9
        assert wall == t_end - t_begin and warm.t_end_ns <= t_begin
        measured = [b for b in blocks if b.phase == "measure"]
        starts = np.concatenate([b.start_ns for b in measured])
        durs = np.concatenate([b.dur_ns for b in measured])
        idx = np.concatenate([b.input_idx for b in measured])
        warm_starts = np.concatenate([b.start_ns for b in blocks if b.phase == "warmup"])
        assert warm_starts.size == 7 and warm.t_begin_ns <= warm_starts.min()
        assert starts.size == calls and int(durs.sum()) == busy
        # the turn's span, on the samples' clock, holds every call of the turn
        assert t_begin <= starts.min() and (starts + durs).max() <= t_end
        assert np.all(np.diff(starts) > 0) and np.all(durs >= 0)
        # input indices continue cyclically across blocks and turns
        assert np.all(np.diff(idx) % 5 == 1)
        assert host.peak_rss_mb() >= host.rss_after_load_mb * 0.5
    finally:
        host.stop()
    assert host.process.returncode == 0


@pytest.mark.parametrize("backend, signame", [("segv", "SIGSEGV"), ("abort", "SIGABRT")])
def test_crashing_engine_is_reported_with_its_signal(backend, signame):
    host, _, _ = make_host(backend, {"after": 20})
    host.start()
    with pytest.raises(EngineFailure, match=signame):
        host.run_turn("measure", seconds=5)
    assert host.process.poll() is not None


def test_hanging_engine_is_killed_by_the_watchdog():
    host, _, _ = make_host("hang", {"after": 5}, timeout_s=1.5)
    host.start()
    with pytest.raises(EngineFailure, match="hung.*watchdog"):
        host.run_turn("measure", seconds=5)
    assert host.process.poll() is not None


def test_load_error_and_python_exception_are_one_clear_line():
    host, _, _ = make_host("loadfail")
    with pytest.raises(EngineFailure, match="load failed: this engine cannot load anything"):
        host.start()
    host, _, _ = make_host("raise", {"after": 3})
    host.start()
    with pytest.raises(EngineFailure, match="RuntimeError: boom from the engine"):
        host.run_turn("measure", calls=10)


def test_halt_cuts_a_long_turn_short():
    import threading

    host, _, _ = make_host("null")
    host.start()
    try:
        timer = threading.Timer(0.3, host.halt)
        timer.start()
        calls, busy, wall, _, _ = host.run_turn("measure", seconds=30)
        assert calls > 0 and 0 < busy <= wall
        assert wall < 10e9  # a 30 s turn, cut short by the halt
    finally:
        host.stop()


def test_describe_exit():
    assert "SIGSEGV" in describe_exit(-11)
    assert "OOM" in describe_exit(-9)
    assert describe_exit(3) == "exit code 3"


def test_load_phases_are_reported_in_order_as_they_begin():
    seen: list[tuple[str, int]] = []
    host, _, _ = make_host("null")
    host.on_phase = lambda name, t_ns: seen.append((name, t_ns))
    try:
        host.start()
    finally:
        host.stop()
    assert [name for name, _ in seen] == ["start", "import", "first inference"]
    assert host.phases == seen
    times = [t for _, t in seen]
    assert times == sorted(times) and times[0] < times[-1]
    seconds = host.phase_seconds()
    assert list(seconds) == ["start", "import", "first inference"] and all(s >= 0 for s in seconds.values())
    # the phases tile the load: their sum is the time from the spawn to the end given
    end = times[-1] + 1_000_000
    assert sum(host.phase_seconds(end).values()) == pytest.approx((end - times[0]) / 1e9)


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend, phases",
    [
        ("onnxruntime", ["start", "import", "compile", "first inference"]),
        ("openvino", ["start", "import", "read", "compile", "first inference"]),
        ("torch", ["start", "import", "read", "first inference"]),
    ],
)
def test_real_engines_mark_their_load_phases(tiny, backend, phases):
    from infbench.engines.base import LOAD_PHASES
    from infbench.engines.registry import missing_packages

    if missing_packages(backend):
        pytest.skip(f"{backend} not installed")
    host = EngineHost(
        backend,
        backend,
        {"threads": 1},
        tiny,
        [{n.name: np.ones((1, 8), np.int64) for n in tiny.inputs}],
        lambda b: None,
        lambda e: None,
        timeout_s=120,
    )
    try:
        host.start()
    finally:
        host.stop()
    names = [name for name, _ in host.phases]
    assert names == phases
    assert [p for p in LOAD_PHASES if p in names] == names  # in the documented order


def test_kill_before_the_child_exists_fails_its_start():
    host, _, _ = make_host("null")
    host.kill()
    with pytest.raises(EngineFailure, match="killed while loading"):
        host.start()
    assert host.process is not None and host.process.poll() is not None


def test_a_kill_during_the_load_fails_its_start():
    """A kill while the child loads (here: as its import begins) makes `start` fail at once, not at the watchdog."""
    host, _, _ = make_host("null", timeout_s=60)
    host.on_phase = lambda name, t_ns: host.kill() if name == "import" else None
    with pytest.raises(EngineFailure, match="died while loading"):
        host.start()
    assert host.process.poll() is not None and host.output is None
