"""Runner: real engines on the tiny built-in model in real child processes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.records import Fanout
from infbench.run.runner import Runner, parity
from infbench.sessions.store import LiveStore


class Turns:
    """Listener recording the order in which backends ran their measured blocks."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.events = []

    def on_samples(self, block) -> None:
        if block.phase == "measure" and (not self.order or self.order[-1] != block.backend):
            self.order.append(block.backend)

    def on_event(self, event) -> None:
        self.events.append(event)


def run_plan(**kw):
    backends = kw.pop("backends")
    plan = RunPlan(
        model=kw.pop("model", "bert-tiny"),
        backends=tuple(BackendSpec(b, lab, opts) for b, lab, opts in backends),
        workload=kw.pop("workload", WorkloadSpec(batch=1, seq=16, cycle=4)),
        duration_s=kw.pop("duration_s", 0.6),
        iterations=kw.pop("iterations", 20),
        block_s=kw.pop("block_s", 0.1),
        **kw,
    )
    store, turns = LiveStore(), Turns()
    runner = Runner(plan, Fanout(store, turns), monitors=False)
    outcome = runner.run()
    return runner, store, turns, outcome


def test_interleaved_run_meets_the_stop_rule_and_shuffles_turns():
    runner, store, turns, outcome = run_plan(
        backends=[
            ("onnxruntime", "onnxruntime", {"threads": 1}),
            ("null", "null", {}),
            ("onnxruntime", "onnxruntime#2", {"threads": 1}),
        ],
        iterations=30,
    )
    assert outcome == "complete"
    for label in ("onnxruntime", "null", "onnxruntime#2"):
        calls, seconds = runner.measured(label)
        assert calls >= 30 and seconds >= 0.6
        starts, durs = store.samples(label, phase="measure")
        assert starts.size == calls and np.all(durs > 0)
        assert store.samples(label, phase="warmup")[0].size == 10
        info = store.backend_infos()[label]
        assert info.status == "done" and info.load_ms > 0 and info.first_inference_ms > 0
        assert info.rss_after_load_mb > 0 and info.rss_peak_mb >= info.rss_after_load_mb * 0.9
    # one engine at a time, and not a fixed order: the three labels appear in several different sequences
    rounds = [tuple(turns.order[i : i + 3]) for i in range(0, len(turns.order) - 2, 3)]
    assert len(set(rounds)) > 1
    # the two ORT copies agree with each other exactly
    assert store.backend_infos()["onnxruntime#2"].parity["max_abs"] == 0.0
    assert {e.kind for e in turns.events} >= {"run_start", "warmup_end", "run_end"}
    # one warmup_end per backend, with its call count: the payload tests/tui/synthetic.py mirrors
    warm = [e for e in turns.events if e.kind == "warmup_end"]
    assert {e.backend: e.data["calls"] for e in warm} == {"onnxruntime": 10, "null": 10, "onnxruntime#2": 10}
    assert all(e.message == f"{e.backend}: warm-up done (10 calls)" for e in warm)


def test_a_crash_mid_run_is_reported_and_the_others_finish():
    _, store, turns, outcome = run_plan(
        backends=[("segv", "segv", {"after": 200}), ("null", "null", {})], duration_s=0.5
    )
    assert outcome == "complete"
    infos = store.backend_infos()
    assert infos["segv"].status == "failed" and "SIGSEGV" in infos["segv"].error
    assert infos["null"].status == "done"
    assert any(e.kind == "engine_error" and e.backend == "segv" for e in turns.events)


def test_all_backends_failing_is_a_failed_run():
    _, store, _, outcome = run_plan(backends=[("loadfail", "loadfail", {})])
    assert outcome == "failed"
    assert "cannot load anything" in store.backend_infos()["loadfail"].error


def test_parity_mismatch_marks_the_backend_degraded():
    _, store, _, _ = run_plan(
        backends=[("onnxruntime", "onnxruntime", {}), ("skewed", "skewed", {})], duration_s=0.2, iterations=5
    )
    infos = store.backend_infos()
    assert infos["skewed"].parity["max_abs"] == pytest.approx(0.5, abs=1e-4)
    assert any("outputs differ" in r for r in infos["skewed"].degraded_reasons)
    assert not infos["onnxruntime"].degraded_reasons


def test_sequential_and_concurrent_schedules():
    _, _, turns, outcome = run_plan(
        backends=[("null", "a", {}), ("null", "b", {})], schedule="sequential", duration_s=0.3
    )
    # one backend after the other (variants of one engine load, and so run, in a random order)
    assert outcome == "complete" and sorted(turns.order) == ["a", "b"]
    _, store, _, outcome = run_plan(
        backends=[("slow", "a", {"after": 2}), ("slow", "b", {"after": 2})],
        schedule="concurrent",
        duration_s=0.5,
        iterations=5,
    )
    a, b = (store.samples(x, phase="measure")[0] for x in ("a", "b"))
    # both ran at the same time: their measured spans overlap
    assert a[0] < b[-1] and b[0] < a[-1]


class FirstMeasured:
    """Listener setting `seen` when the first measured calls arrive (a condition to act on, not a delay)."""

    def __init__(self) -> None:
        self.seen = threading.Event()

    def on_samples(self, block) -> None:
        if block.phase == "measure":
            self.seen.set()


def _when_measuring(runner: Runner, first: FirstMeasured, action) -> threading.Thread:
    """Run `action` on another thread as soon as the run has measured its first calls."""

    def go() -> None:
        if first.seen.wait(120):
            action()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_stop_from_another_thread_interrupts():
    plan = RunPlan(model="bert-tiny", backends=(BackendSpec("null", "null"),), duration_s=60, block_s=0.1)
    store, first = LiveStore(), FirstMeasured()
    runner = Runner(plan, Fanout(store, first), monitors=False)
    thread = _when_measuring(runner, first, runner.stop)
    assert runner.run() == "interrupted"
    thread.join()
    assert store.backend_infos()["null"].status == "done"
    assert store.samples("null", phase="measure")[0].size > 0


def test_pause_resume_and_mark_are_events():
    plan = RunPlan(model="bert-tiny", backends=(BackendSpec("null", "null"),), duration_s=1.0, block_s=0.1)
    store, first = LiveStore(), FirstMeasured()
    runner = Runner(plan, Fanout(store, first), monitors=False)

    def drive() -> None:
        runner.pause()
        runner.mark("note here")
        runner.resume()

    thread = _when_measuring(runner, first, drive)
    assert runner.run() == "complete"
    thread.join()
    kinds = [e.kind for e in store.events()]
    assert kinds.index("pause") < kinds.index("resume") and "mark" in kinds
    assert any(e.message == "note here" for e in store.events())


def test_parity_helper():
    a = np.ones((2, 3), dtype=np.float32)
    assert parity(a, a) == (0.0, pytest.approx(1.0))
    assert parity(a, np.ones((3, 2), dtype=np.float32)) is None


def test_backend_info_load_phase_round_trips_and_old_records_still_read():
    from pathlib import Path

    from infbench.records import BackendInfo
    from infbench.sessions.reader import open_session

    info = BackendInfo("a", "null", {}, status="loading", load_phase="compile", load_phase_t_ns=123)
    assert BackendInfo.from_dict(info.to_dict()) == info
    old = {k: v for k, v in info.to_dict().items() if not k.startswith("load_phase")}
    back = BackendInfo.from_dict({**old, "a_future_field": 1})
    assert back.load_phase is None and back.load_phase_t_ns is None and back.status == "loading"
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "sessions" / "small.infb"
    with open_session(fixture) as data:  # recorded before these fields existed
        infos = data.backend_infos()
    assert infos and all(i.load_phase is None and i.load_ms is not None for i in infos.values())


def test_variants_of_one_engine_load_in_a_random_order_and_engines_in_the_plans() -> None:
    import random

    from infbench.plan.spec import BackendSpec
    from infbench.run.runner import load_order

    plan = [
        BackendSpec("onnxruntime", "onnxruntime", {}),
        BackendSpec("openvino", "openvino", {}),
        BackendSpec("onnxruntime", "onnxruntime#aa", {}),
    ]
    orders = {tuple(s.label for s in load_order(plan, random.Random(seed))) for seed in range(40)}
    assert orders == {
        ("onnxruntime", "onnxruntime#aa", "openvino"),
        ("onnxruntime#aa", "onnxruntime", "openvino"),
    }
