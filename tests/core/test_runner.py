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


class Infos:
    """Listener keeping the latest BackendInfo of each backend (nothing is spawned in the tests using it)."""

    def __init__(self) -> None:
        self.infos = {}

    def on_backend(self, info) -> None:
        self.infos[info.label] = info


def _crafted(outputs: dict, details: dict, **plan_kw) -> Infos:
    """Judge crafted first outputs as the runner does once every variant has loaded: `outputs` label → array,
    `details` label → the load details its engine reported; the plan lists them in that order (ORT variants,
    the options saying what each asked for)."""
    specs = tuple(
        BackendSpec(
            "onnxruntime", label, {"quant": "int8"} if details.get(label, {}).get("quant") == "int8" else {}
        )
        for label in outputs
    )
    listener = Infos()
    runner = Runner(RunPlan(model="bert-tiny", backends=specs, **plan_kw), listener, monitors=False)
    for label, out in outputs.items():
        runner.infos[label].details = dict(details.get(label, {}))
        runner._outputs[label] = out
    runner._check_parity()
    return listener


def _labels(rng: np.random.Generator, flip: float, ref: np.ndarray) -> np.ndarray:
    """`ref` + small noise, with the arg-max label moved at a share `flip` of the positions."""
    out = ref + rng.normal(0, 0.01, ref.shape).astype(np.float32)
    pos = rng.choice(ref.shape[1], int(round(flip * ref.shape[1])), replace=False)
    out[0, pos] = np.roll(ref[0, pos], 1, axis=-1)
    return out


def test_a_quantized_variant_is_judged_by_agreement_not_by_tolerance():
    rng = np.random.default_rng(0)
    ref = np.eye(9, dtype=np.float32)[rng.integers(0, 9, 200)][None] * 4  # (1, 200, 9): clear labels
    int8 = {"precision": "int8", "quant": "int8"}
    got = _crafted(
        {
            "fp32": ref,
            "q-good": _labels(
                rng, 0.03, ref
            ),  # 97 % agree, max abs ~4: degraded by tolerance, not by agreement
            "q-bad": _labels(rng, 0.20, ref),  # 80 % agree
            "f32-off": _labels(rng, 0.0, ref),  # full precision, all labels agree, max abs 0.01 > 1e-3
        },
        {"fp32": {"precision": "f32", "quant": "none"}, "q-good": int8, "q-bad": int8, "f32-off": {}},
        min_agreement=95.0,
    ).infos
    assert got["fp32"].parity["reference"] == "fp32" and not got["fp32"].degraded_reasons
    good = got["q-good"]
    assert good.parity["agreement"] == pytest.approx(0.97) and good.parity["rule"] == "agreement"
    assert good.parity["max_abs"] > 1 and not good.degraded_reasons
    bad = got["q-bad"]
    assert bad.parity["agreement"] == pytest.approx(0.80)
    assert bad.degraded_reasons == [
        "label agreement 80.0 % < --min-agreement 95 % vs fp32 (int8: judged by agreement, not --parity-tol)"
    ]
    off = got["f32-off"]
    assert off.parity["rule"] == "tolerance" and off.parity["agreement"] == 1.0
    assert len(off.degraded_reasons) == 1 and off.degraded_reasons[0].startswith("outputs differ from fp32's")


def test_the_reference_is_a_full_precision_variant_even_when_a_quantized_one_comes_first():
    ref = np.eye(4, dtype=np.float32)[None]
    got = _crafted(
        {"q": ref + 0.5, "fp32": ref},
        {"q": {"precision": "int8", "quant": "int8"}, "fp32": {"precision": "f32"}},
    ).infos
    assert got["q"].parity["reference"] == "fp32" and got["fp32"].parity["reference"] == "fp32"
    assert not got["fp32"].degraded_reasons and not got["q"].degraded_reasons  # 100 % agree
    from infbench.run.runner import reference_label

    plan = RunPlan(
        model="bert-tiny",
        backends=(BackendSpec("onnxruntime", "q", {"quant": "int8"}), BackendSpec("onnxruntime", "f")),
    )
    assert reference_label(plan, ["q", "f"]) == "f" and reference_label(plan, ["q"]) == "q"
