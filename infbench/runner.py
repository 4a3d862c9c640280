"""Runs a RunPlan: prepares the model and inputs, starts one engine host per backend and the monitor sampler,
checks output parity, warms up, then measures under the chosen schedule. Used by the TUI and the headless CLI.

Everything the run produces goes to one `RunListener` (usually a Fanout of recorder, live store, progress).
`run()` blocks; `pause`, `resume`, `stop`, `stop_backend` and `mark` may be called from any other thread.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from infbench.config import BackendSpec, RunPlan
from infbench.engines.base import BACKENDS, ModelFiles
from infbench.engines.host import EngineHost, TurnResult
from infbench.errors import EngineFailure, InfbenchError
from infbench.records import PHASE_MEASURE, PHASE_WARMUP, BackendInfo, RunEvent, TurnRecord

NO_MODEL_BACKENDS = {"null"}


def reference_label(plan: RunPlan, loaded: list[str]) -> str | None:
    """The backend whose outputs the others are compared with: torch (the source framework) if loaded,
    else the first loaded backend that has real outputs."""
    candidates = [b for b in plan.backends if b.label in loaded and b.backend not in NO_MODEL_BACKENDS]
    for b in candidates:
        if b.backend == "torch":
            return b.label
    return candidates[0].label if candidates else None


def parity(out: np.ndarray, ref: np.ndarray) -> tuple[float, float] | None:
    """(max abs difference, cosine similarity) of two outputs, or None when their shapes differ."""
    if out.shape != ref.shape:
        return None
    a, b = out.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    cos = float(a @ b / denom) if denom > 0 else float(np.array_equal(a, b))
    return float(np.max(np.abs(a - b))) if a.size else 0.0, cos


class Runner:
    """One benchmark run from plan to finish."""

    def __init__(
        self,
        plan: RunPlan,
        listener: Any,
        *,
        monitors: bool = True,
        progress: Callable[[str], None] | None = None,
        health_check: Callable[[], str | None] | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.plan = plan
        self.listener = listener
        self.use_monitors = monitors
        self.progress = progress or (lambda _msg: None)
        self.health_check = health_check
        self.log_dir = log_dir
        self.model: ModelFiles | None = None
        self.inputs: list[dict[str, np.ndarray]] = []
        self.tokens: np.ndarray | None = None
        self._inputs_by_batch: dict[int, list[dict[str, np.ndarray]]] = {}
        self.infos = {b.label: BackendInfo(b.label, b.backend, dict(b.options)) for b in plan.backends}
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

        needs = {BACKENDS[b.backend].needs for b in self.plan.backends}
        if needs <= {"none"}:
            self.model = ModelFiles(self.plan.model, "none", None, None, ())
            self.inputs = [{} for _ in range(self.plan.workload.cycle)]
            self.tokens = None
            return
        self.model = prepare_model(self.plan.model, need_onnx="onnx" in needs, need_hf="hf" in needs,
                                   progress=self.progress)
        check_shapes(self.model, self.plan.workload.batch, self.plan.workload.seq)
        built = build_inputs(self.model, self.plan.workload)
        self.inputs = built.items
        self.tokens = built.tokens
        self._inputs_by_batch = {self.plan.workload.batch: self.inputs}
        for spec in self.plan.backends:  # a sweep may give a backend its own batch size
            batch = int(spec.options.get("batch", self.plan.workload.batch))
            if batch not in self._inputs_by_batch:
                check_shapes(self.model, batch, self.plan.workload.seq)
                self._inputs_by_batch[batch] = build_inputs(self.model, replace(self.plan.workload, batch=batch)).items

    def _inputs_for(self, spec: BackendSpec) -> list[dict[str, np.ndarray]]:
        return self._inputs_by_batch.get(int(spec.options.get("batch", self.plan.workload.batch)), self.inputs)
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
        """Stop one backend; the others go on."""
        if label in self.infos and label not in self._stopped_labels:
            self._stopped_labels.add(label)
            host = self.hosts.get(label)
            if host is not None:
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
        self._event("run_start", f"run started: {self.plan.model}, {len(self.plan.backends)} backend(s), "
                                 f"{self.plan.schedule} schedule")
        try:
            self._start_sampler()
            self._load_all()
            self._check_parity()
            self._warmup_all()
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
        self.listener.on_backend(replace(info, options=dict(info.options),
                                         degraded_reasons=list(info.degraded_reasons)))

    def _fail(self, label: str, exc: Exception) -> None:
        message = str(exc)
        self._update(label, status="failed", error=message)
        self._event("engine_error", message, label)
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
        if self.sampler is not None:
            self.sampler.set_processes({lab: h.pid for lab, h in self.hosts.items() if h.pid})

    def _load_all(self) -> None:
        """Load backends one after another, so load and cold-start times are not inflated by each other."""
        assert self.model is not None
        for spec in self.plan.backends:
            if self._stop.is_set():
                return
            self._update(spec.label, status="loading", model_size_mb=self._model_size(spec))
            self.progress(f"loading {spec.label}…")
            engine_options = {k: v for k, v in spec.options.items() if k != "batch"}
            host = EngineHost(spec.label, spec.backend, engine_options, self.model, self._inputs_for(spec),
                              self.listener.on_samples, self.listener.on_event, self.plan.timeout_s, self.log_dir)
            self.hosts[spec.label] = host
            try:
                host.start()
            except EngineFailure as exc:
                self._fail(spec.label, exc)
                continue
            self._set_sampler_pids()
            self._update(
                spec.label, status="loaded", pid=host.pid, load_ms=host.loaded.get("load_ms"),
                first_inference_ms=host.first.get("first_inference_ms"), providers=host.loaded.get("providers", []),
                versions=host.loaded.get("versions", {}), degraded_reasons=list(host.loaded.get("degraded", [])),
                rss_after_load_mb=host.rss_after_load_mb,
            )

    def _model_size(self, spec: BackendSpec) -> float | None:
        if spec.backend in NO_MODEL_BACKENDS or self.model is None:
            return None
        return self.model.size_mb

    def _batch_of(self, label: str) -> int:
        return int(self.infos[label].options.get("batch", self.plan.workload.batch))

    def _check_parity(self) -> None:
        """Compare each backend's first output with a reference of the same batch size (a sweep may mix them)."""
        for batch in sorted({self._batch_of(lab) for lab in self.hosts}):
            same = [lab for lab in self.hosts if self._batch_of(lab) == batch]
            ref = reference_label(self.plan, same)
            if ref is None:
                continue
            ref_out = self.hosts[ref].output
            assert ref_out is not None
            for label in same:
                self._compare_with(label, ref, ref_out)

    def _compare_with(self, label: str, ref: str, ref_out: np.ndarray) -> None:
        host = self.hosts[label]
        if self.infos[label].backend in NO_MODEL_BACKENDS or host.output is None:
            return
        result = parity(host.output, ref_out)
        reasons = list(self.infos[label].degraded_reasons)
        if result is None:
            reasons.append(f"output shape {host.output.shape} differs from {ref}'s {ref_out.shape}")
            self._update(label, parity={"max_abs": None, "cosine": None, "reference": ref}, degraded_reasons=reasons)
            return
        max_abs, cos = result
        if max_abs > self.plan.parity_tolerance:
            reasons.append(f"outputs differ from {ref}'s: max abs diff {max_abs:.3g} > tolerance "
                           f"{self.plan.parity_tolerance:g}")
        self._update(label, parity={"max_abs": max_abs, "cosine": cos, "reference": ref}, degraded_reasons=reasons)

    def _warmup_all(self) -> None:
        wants = self.plan.warmup_iterations > 0 or self.plan.warmup_s > 0
        for label, host in list(self.hosts.items()):
            if self._stop.is_set():
                return
            if wants:
                self._update(label, status="warmup")
                try:
                    warm = host.run_turn(PHASE_WARMUP, calls=self.plan.warmup_iterations or None,
                                         seconds=self.plan.warmup_s or None)
                except EngineFailure as exc:
                    self._fail(label, exc)
                    continue
                self._report_turn(label, PHASE_WARMUP, warm)
                calls = warm.calls
                self._event("warmup_end", f"{label}: warm-up done ({calls} calls)", label, calls=calls)
            self._update(label, status="waiting")

    # ---- scheduling --------------------------------------------------------------------------------------
    def _done(self, label: str) -> bool:
        calls, wall = self._measured[label]
        return calls >= self.plan.iterations and wall >= self.plan.duration_s * 1e9

    def _active(self) -> list[str]:
        return [lab for lab in self.hosts if lab not in self._stopped_labels and not self._done(lab)]

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
        self.listener.on_turn(TurnRecord(label, phase, turn.t_begin_ns, turn.t_end_ns, turn.calls, turn.busy_ns))

    def _check_health(self) -> None:
        if self.health_check is not None:
            problem = self.health_check()
            if problem:
                self.fatal = problem
                self._stop.set()

    def _measure(self) -> None:
        if self.plan.schedule == "concurrent":
            threads = [threading.Thread(target=self._measure_one, args=(lab,), name=f"infbench-turns-{lab}",
                                        daemon=True) for lab in self._active()]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return
        rng = random.Random(self.plan.seed)
        if self.plan.schedule == "sequential":
            for label in list(self.hosts):
                self._measure_one(label)
            return
        while not self._stop.is_set():
            order = self._active()
            if not order:
                return
            rng.shuffle(order)
            for label in order:
                self._resume.wait()
                self._check_health()
                if self._stop.is_set():
                    return
                if label in self._active():
                    self._turn(label)

    def _measure_one(self, label: str) -> None:
        while not self._stop.is_set() and label in self._active():
            self._resume.wait()
            self._check_health()
            if self._stop.is_set():
                return
            self._turn(label)

    def _shutdown(self) -> None:
        for label, host in list(self.hosts.items()):
            peak = host.peak_rss_mb()
            host.stop()
            info = self.infos[label]
            final = info.status if info.status in ("failed", "stopped") else "done"
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
    from infbench.monitors.system import system_fingerprint

    return system_fingerprint()
