"""Runs a RunPlan: prepares the model and inputs, starts one engine host per backend and the monitor sampler,
checks each output's accuracy against the reference's (`analysis.accuracy`), warms up, then measures under the
chosen schedule. Used by the TUI and the headless CLI.

Early start: a loader thread loads the backends one after another (so no two loads inflate each other's load
and cold-start times) while the scheduler measures those already loaded. A backend that becomes ready warms up
and joins the next round of the interleaved schedule (each round gives every joined backend one turn, in shuffled
order); its output parity is checked as soon as its reference's output is known. Until every backend has loaded,
measurements share the machine with a load, so while one is under way the scheduler measures only
`loading_duty` of the time (after each round it waits for the loader, 9× the round's length at the default 0.1,
waking at once when a backend becomes ready): the first numbers come at once, the loads are not starved, and few
samples are taken beside a load. The run records a ``status`` event when measuring starts beside a load and when
every backend is loaded. ``early_start=False`` loads everything before measuring anything.

Everything the run produces goes to one `RunListener` (usually a Fanout of recorder, live store, progress).
`run()` blocks; `pause`, `resume`, `stop`, `stop_backend` and `mark` may be called from any other thread.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from infbench.analysis.accuracy import changes_numerics, judge_outputs, output_parity
from infbench.engines.base import ModelFiles
from infbench.engines.host import EngineHost, TurnResult
from infbench.engines.registry import engine_info
from infbench.errors import EngineFailure, InfbenchError
from infbench.plan.spec import BackendSpec, RunPlan
from infbench.records import PHASE_MEASURE, PHASE_WARMUP, BackendInfo, RunEvent, TurnRecord

_WAIT_S = 0.1  # the scheduler, waiting for a backend to load, checks stop / health this often


def has_outputs(spec: BackendSpec) -> bool:
    """Whether a variant produces real outputs to compare: it runs a model and is not a control."""
    return not spec.is_control and engine_info(spec.backend).needs != "none"


def reference_label(plan: RunPlan, loaded: list[str]) -> str | None:
    """The variant whose outputs the others are compared with: among the loaded ones with real outputs, a
    full-precision one (its options ask for no other precision and no quantization: the fp32 reference) before
    one that changes the numerics, then the one whose engine declares the highest `parity_priority` (the source
    framework), the first in plan order on a tie."""
    candidates = [b for b in plan.backends if b.label in loaded and has_outputs(b)]
    if not candidates:
        return None

    def rank(spec: BackendSpec) -> tuple[bool, int]:
        return not changes_numerics(None, spec.options), engine_info(spec.backend).parity_priority

    best = max(rank(b) for b in candidates)
    return next(b.label for b in candidates if rank(b) == best)


def parity(out: np.ndarray, ref: np.ndarray) -> tuple[float, float] | None:
    """(max abs difference, cosine similarity) of two outputs, or None when their shapes differ."""
    return output_parity(out, ref)


class Runner:
    """One benchmark run from plan to finish.

    Args (besides the plan and the listener):
        monitors: run the monitor sampler.
        progress: called with one-line progress messages (model preparation, "loading X…").
        health_check: polled between turns; a message stops the run as failed (e.g. the recorder's error).
        log_dir: where engine children write their stdout/stderr.
        early_start: measure each backend as soon as it is ready (default); False loads all before measuring.
        loading_duty: share of the time measured while a backend is still loading (interleaved and
            sequential schedules), in (0, 1]; 1 measures flat out beside the loads.
    """

    def __init__(
        self,
        plan: RunPlan,
        listener: Any,
        *,
        monitors: bool = True,
        progress: Callable[[str], None] | None = None,
        health_check: Callable[[], str | None] | None = None,
        log_dir: str | None = None,
        early_start: bool = True,
        loading_duty: float = 0.1,
    ) -> None:
        if not 0 < loading_duty <= 1:
            raise ValueError(f"loading_duty must be in (0, 1], got {loading_duty}")
        self.plan = plan
        self.early_start = early_start
        self.loading_duty = loading_duty
        self.listener = listener
        self.use_monitors = monitors
        self.progress = progress or (lambda _msg: None)
        self.health_check = health_check
        self.log_dir = log_dir
        self.model: ModelFiles | None = None
        self.inputs: list[dict[str, np.ndarray]] = []
        self.tokens: np.ndarray | None = None
        self._inputs_by_batch: dict[int, list[dict[str, np.ndarray]]] = {}
        self.infos = {
            b.label: BackendInfo(b.label, b.backend, dict(b.options), roles=list(b.roles), twin_of=b.twin_of)
            for b in plan.backends
        }
        self._specs = {b.label: b for b in plan.backends}
        self.hosts: dict[str, EngineHost] = {}
        self.sampler: Any = None
        self.t0_ns = 0
        self._lock = threading.Lock()
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._stopped_labels: set[str] = set()
        # calls, wall ns of the backend's turns (the duration rule counts the time a backend held the machine)
        self._measured: dict[str, list[int]] = {b.label: [0, 0] for b in plan.backends}
        # loader thread → scheduler: (label, loaded?) per backend in load order, then None when all are settled
        self._ready: queue.Queue[tuple[str, bool] | None] = queue.Queue()
        self._loader: threading.Thread | None = None
        self._loading: set[EngineHost] = set()  # hosts being started now (guarded by _hosts_lock)
        self._hosts_lock = threading.Lock()
        self._closing = threading.Event()  # shutting down: the loader starts nothing more
        self._settled: list[tuple[str, bool]] = []  # taken from _ready, not yet admitted
        self._loader_done = False
        self._joined: list[str] = []  # backends warmed up and taking turns, in the order they joined
        self._outputs: dict[str, np.ndarray] = {}  # first output of each loaded backend (parity)
        self._unavailable: set[str] = set()  # failed or stopped before loading: never a parity reference
        self._compared: set[str] = set()
        self.outcome: str | None = None
        self.fatal: str | None = None

    # ---- preparation -------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Resolve and prepare the model (building/exporting a built-in on first use) and the inputs.

        Raises:
            ModelError / ConfigError: with a message for the user.
        """
        from infbench.engines.models import check_shapes, prepare_model
        from infbench.engines.workloads import build_inputs

        needs = {engine_info(b.backend).needs for b in self.plan.backends}
        if needs <= {"none"}:
            self.model = ModelFiles(self.plan.model, "none", None, None, ())
            self.inputs = [{} for _ in range(self.plan.workload.cycle)]
            self.tokens = None
            return
        self.model = prepare_model(
            self.plan.model, need_onnx="onnx" in needs, need_hf="hf" in needs, progress=self.progress
        )
        check_shapes(self.model, self.plan.workload.batch, self.plan.workload.seq)
        built = build_inputs(self.model, self.plan.workload)
        self.inputs = built.items
        self.tokens = built.tokens
        self._inputs_by_batch = {self.plan.workload.batch: self.inputs}
        for spec in self.plan.backends:  # a sweep may give a backend its own batch size
            batch = int(spec.options.get("batch", self.plan.workload.batch))
            if batch not in self._inputs_by_batch:
                check_shapes(self.model, batch, self.plan.workload.seq)
                self._inputs_by_batch[batch] = build_inputs(
                    self.model, replace(self.plan.workload, batch=batch)
                ).items

    def min_calls(self, label: str) -> int:
        """The measured calls `label` needs at least: -n, or with ``--whole-corpus N`` N full passes over its
        inputs (one pass = every input of its batch size once) when that is more."""
        passes = self.plan.workload.whole_corpus
        spec = self._specs[label]
        if not passes or not has_outputs(spec):
            return self.plan.iterations
        return max(self.plan.iterations, passes * len(self._inputs_for(spec)))

    def _workload_for(self, spec: BackendSpec) -> dict[str, Any]:
        """The workload one variant runs: the plan's, with the variant's own batch."""
        workload = self.plan.workload.to_dict()
        workload["batch"] = int(spec.options.get("batch", self.plan.workload.batch))
        return workload

    def _inputs_for(self, spec: BackendSpec) -> list[dict[str, np.ndarray]]:
        return self._inputs_by_batch.get(
            int(spec.options.get("batch", self.plan.workload.batch)), self.inputs
        )

    # ---- control (any thread) ----------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Whether the measurement is paused (the current turn finishes, no new turn starts)."""
        return not self._resume.is_set()

    def pause(self) -> None:
        """Pause between turns."""
        if self._resume.is_set():
            self._resume.clear()
            self._event("pause", "paused by the user")

    def resume(self) -> None:
        """Resume after `pause`."""
        if not self._resume.is_set():
            self._resume.set()
            self._event("resume", "resumed")

    def stop(self) -> None:
        """Stop the whole run soon (current turns are cut at their next flush)."""
        self._stop.set()
        self._resume.set()
        for host in list(self.hosts.values()):
            host.halt()

    def stop_backend(self, label: str) -> None:
        """Stop one backend; the others go on. A backend still loading is killed; one not started never is."""
        if label in self.infos and label not in self._stopped_labels:
            self._stopped_labels.add(label)
            with self._hosts_lock:
                host = self.hosts.get(label)
                loading = host is not None and host in self._loading
            if loading:
                host.kill()  # type: ignore[union-attr]
            elif host is not None:
                host.halt()
            self._event("status", f"{label} stopped by the user", label)

    def mark(self, note: str, t_ns: int | None = None) -> None:
        """Drop a user mark with a note, at `t_ns` (perf_counter_ns, e.g. when the key was pressed) or now."""
        self.listener.on_event(RunEvent(t_ns or time.perf_counter_ns(), "mark", note or "mark"))

    # ---- the run -----------------------------------------------------------------------------------------
    def run(self) -> str:
        """Run the plan to the end (or until stopped). Returns ``complete``, ``interrupted`` or ``failed``."""
        if self.model is None:
            self.prepare()
        self.t0_ns = time.perf_counter_ns()
        self.listener.on_start(self.plan.to_dict(), _system_fingerprint(), self.t0_ns, time.time())
        self._event(
            "run_start",
            f"run started: {self.plan.model}, {len(self.plan.backends)} backend(s), "
            f"{self.plan.schedule} schedule",
        )
        try:
            self._loader = threading.Thread(target=self._load_all, name="infbench-loader", daemon=True)
            self._loader.start()  # first: the engines load while the sampler starts
            self._start_sampler()
            self._set_sampler_pids()
            self._measure()
            self.outcome = "interrupted" if self._stop.is_set() else "complete"
        except InfbenchError as exc:
            self.fatal = str(exc)
            self.outcome = "failed"
        finally:
            self._shutdown()
        if self.fatal is None and all(i.status == "failed" for i in self.infos.values()):
            self.outcome = "failed"
        self._event("run_end", f"run {self.outcome}")
        self.listener.on_finish(self.outcome)
        return self.outcome

    def _event(self, kind: str, message: str, backend: str | None = None, **data: Any) -> None:
        self.listener.on_event(RunEvent(time.perf_counter_ns(), kind, message, backend, data))

    def _update(self, label: str, **changes: Any) -> None:
        info = self.infos[label]
        for key, value in changes.items():
            setattr(info, key, value)
        self.listener.on_backend(
            replace(
                info,
                options=dict(info.options),
                degraded_reasons=list(info.degraded_reasons),
                roles=list(info.roles),
            )
        )

    def _fail(self, label: str, exc: Exception) -> None:
        message = str(exc)
        self._update(label, status="failed", error=message, load_phase=None, load_phase_t_ns=None)
        self._event("engine_error", message, label)
        with self._hosts_lock:
            host = self.hosts.pop(label, None)
        if host is not None:
            host.kill()
        self._set_sampler_pids()

    def _start_sampler(self) -> None:
        if not self.use_monitors:
            return
        from infbench.monitors.sampler import Sampler, default_monitors

        self.sampler = Sampler(default_monitors(), self.listener)
        self.sampler.start()

    def _set_sampler_pids(self) -> None:
        with self._hosts_lock:  # read and hand over together: two threads never apply stale pids last
            if self.sampler is not None:
                self.sampler.set_processes({lab: h.pid for lab, h in self.hosts.items() if h.pid})

    # ---- loading (the loader thread) ---------------------------------------------------------------------
    def _load_all(self) -> None:
        """Loader thread: load backends one after another, so load and cold-start times are not inflated by each
        other, and hand each to the scheduler (`_ready`) as soon as it is ready or has failed."""
        t_begin = time.perf_counter_ns()
        order = load_order(self.plan.backends, random.SystemRandom())
        if len(order) > 1:
            self._event(
                "status",
                "load order: " + ", ".join(s.label for s in order),
                load_order=[s.label for s in order],
            )
        try:
            for spec in order:
                if self._stop.is_set() or self._closing.is_set():
                    self._not_loaded(spec.label, "the run was stopped before it loaded")
                    continue
                if spec.label in self._stopped_labels:
                    self._not_loaded(spec.label, "stopped by the user before it loaded")
                    self._ready.put((spec.label, False))
                    continue
                self._ready.put((spec.label, self._load_one(spec)))
            if not (self._stop.is_set() or self._closing.is_set()):
                ready = sum(1 for lab in self.infos if lab in self.hosts)
                self._event(
                    "status",
                    f"loading finished: {ready} of {len(self.infos)} backends ready after "
                    f"{(time.perf_counter_ns() - t_begin) / 1e9:.1f} s",
                    all_loaded=True,
                    measuring=list(self._joined),
                )
        finally:
            self._ready.put(None)

    def _not_loaded(self, label: str, why: str) -> None:
        self._update(label, status="stopped", load_phase=None, load_phase_t_ns=None)
        self._event("status", f"{label}: {why}", label)

    def _load_one(self, spec: BackendSpec) -> bool:
        """Start one engine host and wait until it is ready (loaded, first inference done). True when ready."""
        assert self.model is not None
        label = spec.label
        self._update(label, status="loading", model_size_mb=self._model_size(spec))
        self.progress(f"loading {label}…")
        engine_options = {k: v for k, v in spec.options.items() if k != "batch"}
        host = EngineHost(
            label,
            spec.backend,
            engine_options,
            self.model,
            self._inputs_for(spec),
            self.listener.on_samples,
            self.listener.on_event,
            self.plan.timeout_s,
            self.log_dir,
            on_phase=lambda name, t_ns: self._on_phase(label, name, t_ns),
            workload=self._workload_for(spec),
        )
        with self._hosts_lock:
            closing = self._closing.is_set()  # read under the lock: `_shutdown` kills what `_loading` holds
            if not closing:
                self.hosts[label] = host
                self._loading.add(host)
        if closing:
            self._not_loaded(label, "the run was stopped before it loaded")
            return False
        try:
            host.start()
        except EngineFailure as exc:
            with self._hosts_lock:
                self._loading.discard(host)
            if self._closing.is_set() or label in self._stopped_labels:
                with self._hosts_lock:
                    self.hosts.pop(label, None)
                host.kill()
                self._set_sampler_pids()
                self._not_loaded(label, "stopped while loading")
                return False
            self._fail(label, exc)
            return False
        with self._hosts_lock:
            self._loading.discard(host)
        self._set_sampler_pids()
        phases = host.phase_seconds()  # the last one, "first inference", ends now: its output has arrived
        self._update(
            label,
            status="loaded",
            load_phase=None,
            load_phase_t_ns=None,
            pid=host.pid,
            load_ms=host.loaded.get("load_ms"),
            first_inference_ms=host.first.get("first_inference_ms"),
            providers=host.loaded.get("providers", []),
            versions=host.loaded.get("versions", {}),
            details=dict(host.loaded.get("details", {})),
            degraded_reasons=list(host.loaded.get("degraded", [])),
            rss_after_load_mb=host.rss_after_load_mb,
        )
        total = sum(phases.values())
        detail = ", ".join(f"{name} {sec:.2f} s" for name, sec in phases.items())
        self._event("status", f"{label} ready in {total:.1f} s ({detail})", label, load_phases=phases)
        return True

    def _on_phase(self, label: str, name: str, t_ns: int) -> None:
        """A load phase of `label` began (loader thread): publish it; the child exists from "import" on."""
        if name == "import":
            self._set_sampler_pids()
            with self._hosts_lock:
                host = self.hosts.get(label)
            self._update(label, load_phase=name, load_phase_t_ns=t_ns, pid=host.pid if host else None)
        else:
            self._update(label, load_phase=name, load_phase_t_ns=t_ns)

    def _model_size(self, spec: BackendSpec) -> float | None:
        if engine_info(spec.backend).needs == "none" or self.model is None:
            return None
        return self.model.size_mb

    def _batch_of(self, label: str) -> int:
        return int(self.infos[label].options.get("batch", self.plan.workload.batch))

    def _check_parity(self) -> None:
        """Compare each loaded backend's first output with a reference of the same batch size (a sweep may mix
        them), once that reference's output is known.

        The reference is the one `reference_label` picks among the backends that may still load (not failed or
        stopped before loading): a torch still loading is waited for; one that failed hands over to the next.
        """
        for batch in sorted({self._batch_of(lab) for lab in self.infos}):
            same = [b.label for b in self.plan.backends if self._batch_of(b.label) == batch]
            ref = reference_label(self.plan, [lab for lab in same if lab not in self._unavailable])
            if ref is None or ref not in self._outputs:
                continue
            for label in same:
                if label in self._outputs and label not in self._compared:
                    self._compared.add(label)
                    self._compare_with(label, ref, self._outputs[ref])

    def _compare_with(self, label: str, ref: str, ref_out: np.ndarray) -> None:
        """Judge `label`'s first output against the reference's: a full-precision variant by max abs difference
        (--parity-tol), one that changes the numerics (its load details: precision, quant) by label agreement
        (--min-agreement); see `analysis.accuracy`."""
        if not has_outputs(self._specs[label]):
            return
        info = self.infos[label]
        accuracy = judge_outputs(
            self._outputs[label],
            ref_out,
            ref,
            tolerance=self.plan.parity_tolerance,
            min_agreement=self.plan.min_agreement,
            details=info.details,
            options=info.options,
            task=self.plan.workload.task,
        )
        self._update(
            label,
            parity=accuracy.to_dict(),
            degraded_reasons=[*info.degraded_reasons, *accuracy.reasons],
        )

    def _warm_up(self, label: str) -> bool:
        """One warm-up turn of `label` (when the plan asks for one). False when the engine failed or the run stops."""
        host = self.hosts.get(label)
        if host is None:
            return False
        if self.plan.warmup_iterations > 0 or self.plan.warmup_s > 0:
            self._resume.wait()  # a warm-up is a turn: none starts while paused
            if self._stop.is_set():
                return False
            self._update(label, status="warmup")
            try:
                warm = host.run_turn(
                    PHASE_WARMUP,
                    calls=self.plan.warmup_iterations or None,
                    seconds=self.plan.warmup_s or None,
                )
            except EngineFailure as exc:
                self._fail(label, exc)
                return False
            self._report_turn(label, PHASE_WARMUP, warm)
            calls = warm.calls
            self._event("warmup_end", f"{label}: warm-up done ({calls} calls)", label, calls=calls)
        return not self._stop.is_set()

    # ---- admission: the scheduler takes what the loader settled ------------------------------------------
    def _poll_loader(self, wait_s: float | None) -> None:
        """Take what the loader settled into `_settled`, waiting up to `wait_s` for the first item (None: no wait)."""
        try:
            item = self._ready.get(timeout=wait_s) if wait_s else self._ready.get_nowait()
            while True:
                if item is None:
                    self._loader_done = True
                else:
                    self._settled.append(item)
                item = self._ready.get_nowait()
        except queue.Empty:
            pass

    def _take_settled(self) -> list[tuple[str, bool]]:
        """Backends settled since the last call, (label, loaded?), in load order; with early start off, nothing
        until every backend has settled."""
        self._poll_loader(None)
        if not self.early_start and not self._loader_done:
            return []
        out, self._settled = self._settled, []
        return out

    def _all_taken(self) -> bool:
        """Whether the loader has finished and the scheduler has taken every backend it settled."""
        return self._loader_done and not self._settled

    def _receive(self, label: str, loaded: bool) -> bool:
        """A backend settled: keep its first output (or note it has none) and check parity with what is known
        now. True when it loaded and may warm up (not stopped meanwhile)."""
        host = self.hosts.get(label) if loaded else None
        if host is None or host.output is None:
            self._unavailable.add(label)
            self._check_parity()
            return False
        self._outputs[label] = host.output
        self._check_parity()
        if label in self._stopped_labels:
            self._update(label, status="stopped")
            return False
        return True

    def _warm_up_and_join(self, label: str) -> bool:
        """Warm `label` up and let it take measured turns. False when it failed or was stopped meanwhile."""
        if not self._warm_up(label):
            return False
        if label in self._stopped_labels:  # stopped during its warm-up
            self._update(label, status="stopped")
            return False
        self._join(label)
        return True

    def _join(self, label: str) -> None:
        """`label` takes measured turns from now on; the first to join while others load says so (an event)."""
        if not self._joined:
            loading = [lab for lab in self.infos if self.infos[lab].status in ("pending", "loading")]
            if loading:
                self._event(
                    "status",
                    f"measuring {label} while {', '.join(loading)} load: numbers until all are "
                    "loaded share the machine with a load",
                    label,
                    loading=loading,
                )
        self._joined.append(label)
        self._update(label, status="waiting")

    def _wait_for_loader(self) -> bool:
        """Nothing to measure now: wait briefly for the loader. False when the run should end (stop asked, or
        every backend settled and taken)."""
        if self._all_taken():
            return False
        self._resume.wait()
        self._check_health()
        if self._stop.is_set():
            return False
        if not self._loader_done:
            self._poll_loader(_WAIT_S)
        return True

    # ---- scheduling --------------------------------------------------------------------------------------
    def _done(self, label: str) -> bool:
        calls, wall = self._measured[label]
        return calls >= self.min_calls(label) and wall >= self.plan.duration_s * 1e9

    def _active(self) -> list[str]:
        """Backends that joined, are still up, not stopped and not done, in the order they joined."""
        return [
            lab
            for lab in self._joined
            if lab in self.hosts and lab not in self._stopped_labels and not self._done(lab)
        ]

    def _turn(self, label: str) -> None:
        host = self.hosts.get(label)
        if host is None:
            return
        self._update(label, status="running")
        try:
            turn = host.run_turn(PHASE_MEASURE, seconds=self.plan.block_s)
        except EngineFailure as exc:
            self._fail(label, exc)
            return
        self._report_turn(label, PHASE_MEASURE, turn)
        with self._lock:
            self._measured[label][0] += turn.calls
            self._measured[label][1] += turn.wall_ns
        if label in self._stopped_labels:
            self._update(label, status="stopped")
        else:
            self._update(label, status="done" if self._done(label) else "waiting")

    def _report_turn(self, label: str, phase: str, turn: TurnResult) -> None:
        self.listener.on_turn(
            TurnRecord(label, phase, turn.t_begin_ns, turn.t_end_ns, turn.calls, turn.busy_ns)
        )

    def _check_health(self) -> None:
        if self.health_check is not None:
            problem = self.health_check()
            if problem:
                self.fatal = problem
                self._stop.set()

    def _measure(self) -> None:
        """Measure under the plan's schedule, taking each backend in as it becomes ready."""
        if self.plan.schedule == "concurrent":
            self._measure_concurrent()
        elif self.plan.schedule == "sequential":
            self._measure_sequential()
        else:
            self._measure_interleaved()

    def _measure_interleaved(self) -> None:
        """Rounds: every joined backend gets one turn per round, in shuffled order; backends that became ready
        warm up and join between rounds."""
        rng = random.Random(self.plan.seed)
        while not self._stop.is_set():
            for label, loaded in self._take_settled():
                if self._receive(label, loaded):
                    self._warm_up_and_join(label)
                if self._stop.is_set():
                    return
            order = self._active()
            if not order:
                if not self._wait_for_loader():
                    return
                continue
            rng.shuffle(order)
            t_round = time.perf_counter()
            for label in order:
                self._resume.wait()
                self._check_health()
                if self._stop.is_set():
                    return
                if label in self._active():
                    self._turn(label)
            self._pace(t_round)

    def _pace(self, t_start: float) -> None:
        """While a backend is still loading, keep measuring to `loading_duty` of the time: wait for the loader
        (returning as soon as it settles a backend) (1/duty - 1) times as long as the turns since `t_start` took."""
        if self.loading_duty >= 1:
            return
        now = time.perf_counter()
        deadline = now + (now - t_start) * (1 / self.loading_duty - 1)
        settled = len(self._settled)
        while (
            not (self._loader_done or self._stop.is_set() or len(self._settled) > settled) and now < deadline
        ):
            self._poll_loader(min(_WAIT_S, deadline - now))  # in slices: a stop is seen within _WAIT_S
            now = time.perf_counter()

    def _measure_sequential(self) -> None:
        """One backend after another, in load order, each measured to the end as soon as it is ready."""
        while not self._stop.is_set():
            settled = self._take_settled()
            for label, loaded in settled:
                if self._stop.is_set():
                    return
                if self._receive(label, loaded) and self._warm_up_and_join(label):
                    self._measure_one(label, pace=True)
            if not settled and not self._wait_for_loader():
                return

    def _measure_concurrent(self) -> None:
        """Every backend in its own thread, warm-up then turns, started as soon as it is ready."""
        threads: list[threading.Thread] = []
        while not self._stop.is_set():
            settled = self._take_settled()
            for label, loaded in settled:
                if self._receive(label, loaded):
                    thread = threading.Thread(
                        target=self._warm_up_and_measure,
                        args=(label,),
                        name=f"infbench-turns-{label}",
                        daemon=True,
                    )
                    threads.append(thread)
                    thread.start()
            if not settled and not self._wait_for_loader():
                break
        for thread in threads:
            thread.join()

    def _warm_up_and_measure(self, label: str) -> None:
        if self._warm_up_and_join(label):
            self._measure_one(label)

    def _measure_one(self, label: str, pace: bool = False) -> None:
        while not self._stop.is_set() and label in self._active():
            self._resume.wait()
            self._check_health()
            if self._stop.is_set():
                return
            t_turn = time.perf_counter()
            self._turn(label)
            if pace:
                self._pace(t_turn)

    def _shutdown(self) -> None:
        """Stop the loader (killing a load under way), then every engine; publish each backend's final state."""
        self._closing.set()
        with self._hosts_lock:
            loading = list(self._loading)
        for host in loading:
            host.kill()
        if self._loader is not None:
            self._loader.join()
        for label, host in list(self.hosts.items()):
            peak = host.peak_rss_mb()
            host.stop()
            info = self.infos[label]
            if info.status in ("failed", "stopped"):
                final = info.status
            else:  # loaded but never measured: the run ended before its turn came
                final = "done" if label in self._joined else "stopped"
            self._update(label, status=final, rss_peak_mb=peak)
        if self.sampler is not None:
            self.sampler.stop()
        if self.fatal:
            self._event("engine_error", f"run stopped: {self.fatal}")

    def measured(self, label: str) -> tuple[int, float]:
        """(measured calls, measured seconds of turns) of `label` so far."""
        with self._lock:
            calls, wall = self._measured[label]
        return calls, wall / 1e9


def _system_fingerprint() -> dict[str, Any]:
    from infbench.monitors.fingerprint import system_fingerprint

    return system_fingerprint()


def load_order(
    backends: tuple[BackendSpec, ...] | list[BackendSpec], rng: random.Random
) -> list[BackendSpec]:
    """The order engines load in: the plan's, except that variants of one engine (an `--aa` twin, `-b ort
    -b ort:threads=1`) load in a random order drawn afresh every run.

    In A/A runs on the project's VM the engine process loaded later ran 1–2 % faster for the whole run, so a
    fixed order (the twin always last) favoured the same variant in every run (BENCHMARKS.md, calibration).
    Different engines keep the plan's order: the fastest to load usually comes first, so numbers show sooner,
    and the between-process spread in every ratio interval covers what their order does.
    """
    groups: dict[str, list[BackendSpec]] = {}
    for spec in backends:
        groups.setdefault(spec.backend, []).append(spec)
    for members in groups.values():
        rng.shuffle(members)
    return [spec for members in groups.values() for spec in members]
