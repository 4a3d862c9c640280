"""Early start: a backend measures as soon as it is ready while others still load; late backends join the
interleaved rounds; load phases are published; parity waits for its reference. Real child processes; a "gate"
engine stays in its load until the test releases it (a condition, never a guessed delay)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.records import BackendInfo, Fanout, RunEvent, SampleBlock, TurnRecord
from infbench.run.runner import Runner
from infbench.sessions.store import LiveStore
from tests.core.gated_engine import gate_plugin, make_fifo, release, release_if_waiting

__all__ = ["gate_plugin"]  # the fixture, used by name


class Log:
    """Listener keeping everything in arrival order, and calling `when(kind, item)` hooks on each."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []
        self.hooks: list[Callable[[str, object], None]] = []
        self.lock = threading.Lock()

    def _add(self, kind: str, item: object) -> None:
        with self.lock:
            self.items.append((kind, item))
        for hook in self.hooks:
            hook(kind, item)

    def on_backend(self, info: BackendInfo) -> None:
        self._add("backend", info)

    def on_samples(self, block: SampleBlock) -> None:
        self._add("samples", block)

    def on_event(self, event: RunEvent) -> None:
        self._add("event", event)

    def on_turn(self, turn: TurnRecord) -> None:
        self._add("turn", turn)

    def index(self, pred: Callable[[str, object], bool]) -> int:
        """Position of the first item matching `pred` (ValueError when none)."""
        return next(i for i, (k, x) in enumerate(self.items) if pred(k, x))

    def infos(self, label: str) -> list[BackendInfo]:
        return [x for k, x in self.items if k == "backend" and x.label == label]  # type: ignore[union-attr]

    def turns(self, phase: str) -> list[TurnRecord]:
        return [x for k, x in self.items if k == "turn" and x.phase == phase]  # type: ignore[union-attr]


def _measured(label: str) -> Callable[[str, object], bool]:
    return lambda k, x: k == "samples" and x.backend == label and x.phase == "measure"  # type: ignore[union-attr]


def _in_phase(label: str, phase: str) -> Callable[[str, object], bool]:
    return lambda k, x: k == "backend" and x.label == label and x.load_phase == phase  # type: ignore[union-attr]


def _a_turn(kind: str, item: object) -> bool:
    return kind == "turn" and item.backend == "a" and item.phase == "measure"  # type: ignore[attr-defined]


def _nth(pred: Callable[[str, object], bool], n: int) -> Callable[[str, object], bool]:
    """True from the `n`-th item matching `pred` on."""
    seen = [0]

    def check(kind: str, item: object) -> bool:
        seen[0] += pred(kind, item)
        return seen[0] >= n

    return check


def _plan(backends: tuple[BackendSpec, ...], **kw: object) -> RunPlan:
    return RunPlan(
        model="none",
        backends=backends,
        workload=WorkloadSpec(batch=1, seq=16, cycle=4),
        duration_s=kw.pop("duration_s", 0.6),
        iterations=kw.pop("iterations", 5),  # type: ignore[arg-type]
        block_s=0.1,
        warmup_iterations=5,
        timeout_s=60,
        **kw,
    )  # type: ignore[arg-type]


def _on_first(
    log: Log, *preds: Callable[[str, object], bool], action: Callable[[], None]
) -> threading.Thread:
    """Run `action` on a helper thread as soon as items matching each of `preds` have arrived."""
    seen = [threading.Event() for _ in preds]
    for pred, event in zip(preds, seen):
        log.hooks.append(lambda k, x, pred=pred, event=event: event.set() if pred(k, x) else None)

    def go() -> None:
        if all(event.wait(60) for event in seen):
            action()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


@pytest.mark.usefixtures("gate_plugin")
def test_a_ready_backend_measures_while_another_loads_and_the_late_one_joins_fair_rounds(
    tmp_path: Path,
) -> None:
    fifo = make_fifo(tmp_path)
    plan = _plan((BackendSpec("null", "a"), BackendSpec("gate", "g", {"fifo": fifo})))
    log, store = Log(), LiveStore()
    runner = Runner(plan, Fanout(store, log), monitors=False)
    state_of_g: list[BackendInfo] = []

    def let_go() -> None:  # `a` is measuring: what does the run say about `g` now? then let it load
        state_of_g.append(store.backend_infos()["g"])
        release(fifo)

    helper = _on_first(log, _measured("a"), _in_phase("g", "read"), action=let_go)
    try:
        assert runner.run() == "complete"
    finally:
        release_if_waiting(fifo)
    helper.join()

    # while `a` measured, `g` was still loading, in its "read" phase, published with the time it began
    assert state_of_g, "a never measured while g was loading"
    g = state_of_g[0]
    assert g.status == "loading" and g.load_phase == "read"
    assert g.load_phase_t_ns is not None and g.load_phase_t_ns > runner.t0_ns
    assert log.index(_measured("a")) < log.index(
        lambda k, x: k == "backend" and x.label == "g" and x.status == "loaded"
    )
    # g's phases in order, each with a later start; cleared once loaded
    phases = [
        (i.load_phase, i.load_phase_t_ns) for i in log.infos("g") if i.status == "loading" and i.load_phase
    ]
    assert [p for p, _ in phases] == ["start", "import", "read", "first inference"]
    assert all(t1 < t2 for (_, t1), (_, t2) in itertools.pairwise(phases))
    final = store.backend_infos()["g"]
    assert final.status == "done" and final.load_phase is None and final.load_phase_t_ns is None
    # both met the stop rule
    for label in ("a", "g"):
        calls, seconds = runner.measured(label)
        assert calls >= plan.iterations and seconds >= plan.duration_s
    # fairness: from g's warm-up on, every round (two turns) holds a and g once, until a is done
    (g_warm,) = [t for t in log.turns("warmup") if t.backend == "g"]
    after = [t.backend for t in log.turns("measure") if t.start_ns > g_warm.end_ns]
    assert "a" in after, "a was done before g joined: the test did not exercise joining"
    n_rounds = max(i for i, b in enumerate(after) if b == "a") // 2 + 1
    assert all(sorted(after[2 * i : 2 * i + 2]) == ["a", "g"] for i in range(n_rounds)), after
    assert set(after[2 * n_rounds :]) <= {"g"}  # then g alone, to its own stop rule
    # the overlap of measuring and loading is on record
    messages = [x.message for k, x in log.items if k == "event" and x.kind == "status"]  # type: ignore[union-attr]
    assert any(m.startswith("measuring a while g load") for m in messages)
    assert any(m.startswith("loading finished: 2 of 2 backends ready") for m in messages)
    ready = [
        x
        for k, x in log.items
        if k == "event"
        and x.kind == "status"  # type: ignore[union-attr]
        and x.message.startswith("g ready in")
    ]  # type: ignore[union-attr]
    assert list(ready[0].data["load_phases"]) == ["start", "import", "read", "first inference"]


@pytest.mark.usefixtures("gate_plugin")
def test_while_a_backend_loads_the_others_measure_only_their_duty_share(tmp_path: Path) -> None:
    """Between two rounds during a load the scheduler waits for the loader (1/duty - 1) × the round's length."""
    fifo = make_fifo(tmp_path)
    duty = 0.25
    plan = _plan((BackendSpec("null", "a"), BackendSpec("gate", "g", {"fifo": fifo})))
    log = Log()
    runner = Runner(plan, Fanout(log), monitors=False, loading_duty=duty)
    helper = _on_first(log, _nth(_a_turn, 3), action=lambda: release(fifo))
    try:
        assert runner.run() == "complete"
    finally:
        release_if_waiting(fifo)
    helper.join()
    loaded = next(x.t_ns for k, x in log.items if k == "event" and x.message.startswith("g ready in"))
    turns = [x for k, x in log.items if _a_turn(k, x)]
    during = [t for t in turns if t.end_ns < loaded]
    assert len(during) >= 3
    for prev, nxt in itertools.pairwise(during):
        assert nxt.start_ns - prev.end_ns >= (prev.end_ns - prev.start_ns) * (1 / duty - 1)
    with pytest.raises(ValueError, match="loading_duty"):
        Runner(plan, Fanout(log), loading_duty=0)


def test_without_early_start_nothing_is_measured_before_every_backend_loaded() -> None:
    plan = _plan((BackendSpec("null", "a"), BackendSpec("null", "b")))
    log = Log()
    runner = Runner(plan, Fanout(log), monitors=False, early_start=False)
    assert runner.run() == "complete"
    last_loaded = max(
        log.index(lambda k, x, lab=lab: k == "backend" and x.label == lab and x.status == "loaded")
        for lab in ("a", "b")
    )
    first_warm = log.index(lambda k, x: k == "samples" and x.phase == "warmup")
    assert last_loaded < first_warm


@pytest.mark.usefixtures("gate_plugin")
@pytest.mark.parametrize("how", ["stop", "stop_backend"])
def test_stopping_a_backend_that_is_still_loading_kills_it(tmp_path: Path, how: str) -> None:
    """The run ends (or goes on) at once: the load under way is killed, not waited for (the watchdog is 60 s)."""
    fifo = make_fifo(tmp_path)
    plan = _plan((BackendSpec("null", "a"), BackendSpec("gate", "g", {"fifo": fifo})), duration_s=0.3)
    log, store = Log(), LiveStore()
    runner = Runner(plan, Fanout(store, log), monitors=False)
    action = runner.stop if how == "stop" else (lambda: runner.stop_backend("g"))
    helper = _on_first(log, _in_phase("g", "read"), action=action)
    t = time.monotonic()
    try:
        outcome = runner.run()
    finally:
        release_if_waiting(fifo)
    helper.join()
    wall = time.monotonic() - t
    infos = store.backend_infos()
    assert infos["g"].status == "stopped" and infos["g"].error is None and infos["g"].load_phase is None
    assert not any(k == "event" and x.kind == "engine_error" for k, x in log.items)  # type: ignore[union-attr]
    assert wall < plan.timeout_s / 2  # not ended by the watchdog
    if how == "stop":
        assert outcome == "interrupted"
    else:
        assert outcome == "complete" and infos["a"].status == "done"


def test_a_backend_stopped_before_it_loads_never_starts() -> None:
    plan = _plan((BackendSpec("null", "a"), BackendSpec("null", "b")), duration_s=0.2)
    log, store = Log(), LiveStore()
    runner = Runner(plan, Fanout(store, log), monitors=False)
    runner.stop_backend("b")
    assert runner.run() == "complete"
    assert store.backend_infos()["b"].status == "stopped"
    assert not [i for i in log.infos("b") if i.status == "loading"]
    assert runner.measured("a")[0] >= plan.iterations


@pytest.mark.slow
def test_parity_waits_for_a_reference_that_loads_late() -> None:
    """torch (the reference) loads after onnxruntime, which measures meanwhile; parity comes when torch is up."""
    pytest.importorskip("torch")
    plan = RunPlan(
        model="bert-tiny",
        backends=(
            BackendSpec("onnxruntime", "ort", {"threads": 1}),
            BackendSpec("torch", "torch", {"threads": 1}),
        ),
        workload=WorkloadSpec(batch=1, seq=16, cycle=4),
        duration_s=0.3,
        iterations=5,
        block_s=0.1,
    )
    log = Log()
    runner = Runner(plan, Fanout(log), monitors=False)
    assert runner.run() == "complete"
    with_parity = log.index(lambda k, x: k == "backend" and x.label == "ort" and x.parity is not None)
    assert log.index(_measured("ort")) < with_parity
    assert (
        log.index(lambda k, x: k == "backend" and x.label == "torch" and x.status == "loaded") < with_parity
    )
    parity = log.infos("ort")[-1].parity
    assert parity is not None and parity["reference"] == "torch" and parity["max_abs"] < 1e-3


@pytest.mark.slow
def test_parity_falls_back_when_the_reference_fails_to_load() -> None:
    """torch would be the reference but cannot load: the next candidate is, and only once torch has failed."""
    pytest.importorskip("torch")
    plan = RunPlan(
        model="bert-tiny",
        backends=(
            BackendSpec("onnxruntime", "ort", {"threads": 1}),
            BackendSpec("skewed", "sk", {"threads": 1}),
            BackendSpec("torch", "torch", {"device": "tpu"}),
        ),
        workload=WorkloadSpec(batch=1, seq=16, cycle=4),
        duration_s=0.3,
        iterations=5,
        block_s=0.1,
    )
    log, store = Log(), LiveStore()
    assert Runner(plan, Fanout(store, log), monitors=False).run() == "complete"
    infos = store.backend_infos()
    assert infos["torch"].status == "failed"
    assert infos["sk"].parity["reference"] == "ort" and infos["sk"].parity["max_abs"] == pytest.approx(
        0.5, abs=1e-4
    )
    assert any("outputs differ from ort's" in r for r in infos["sk"].degraded_reasons)
    torch_failed = log.index(lambda k, x: k == "backend" and x.label == "torch" and x.status == "failed")
    assert torch_failed < log.index(lambda k, x: k == "backend" and x.label == "sk" and x.parity is not None)
    assert log.index(_measured("sk")) < torch_failed  # sk measured while torch was loading
