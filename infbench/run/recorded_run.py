"""A run wired for recording: Runner → SampleGate → Fanout(Recorder, LiveStore, LiveAnalyzer, extra listeners),
in a thread.

Shared by the headless CLI and the live TUI so both record the same way: the recorder is always on. The gate
thins the null control's measured samples (see `infbench.engines.null`) for everything but the extra listeners
(progress), which see every call.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from infbench import logs
from infbench.errors import InfbenchError
from infbench.plan.spec import RunPlan
from infbench.records import PHASE_MEASURE, Fanout, RunEvent, SampleBlock
from infbench.run.live_analysis import LiveAnalyzer
from infbench.run.runner import Runner


class SampleGate:
    """The run's listener: forwards everything to `fanout`, but the measured blocks of thinned backends (label →
    calls kept per second) reach only `full` (extra listeners) whole and everyone else as a uniform sample.

    At the end it adds one ``status`` event per thinned backend saying how many calls were kept of how many.
    """

    def __init__(
        self, fanout: Fanout, thin: dict[str, float], full: tuple[Any, ...] = (), seed: int = 0
    ) -> None:
        self.fanout = fanout
        self.thin = dict(thin)
        self.full = tuple(full)
        self._rng = {label: np.random.default_rng([seed, i]) for i, label in enumerate(sorted(self.thin))}
        self.calls = {label: 0 for label in self.thin}
        self.kept = {label: 0 for label in self.thin}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fanout, name)

    def on_samples(self, block: SampleBlock) -> None:
        """Forward `block`, thinned for the recording when its backend is thinned."""
        per_s = self.thin.get(block.backend)
        if per_s is None or block.phase != PHASE_MEASURE:
            self.fanout.on_samples(block)
            return
        from infbench.engines.null import thin_block

        small = thin_block(block, per_s, self._rng[block.backend])
        self.calls[block.backend] += len(block)
        self.kept[block.backend] += len(small)
        for listener in self.fanout.listeners:
            method = getattr(listener, "on_samples", None)
            if method is not None:
                method(block if any(listener is f for f in self.full) else small)

    def on_finish(self, outcome: str) -> None:
        """Say how much of each thinned backend was kept, then forward the outcome."""
        for label, calls in self.calls.items():
            if calls > self.kept[label]:
                self.fanout.on_event(
                    RunEvent(
                        time.perf_counter_ns(),
                        "status",
                        f"{label}: recorded a uniform sample of {self.kept[label]:,} of its {calls:,} measured calls "
                        f"(the control's percentiles, to sampling noise; -b null:keep=all records every call)",
                        label,
                        {"calls": calls, "kept": self.kept[label]},
                    )
                )
        self.fanout.on_finish(outcome)


def thinned_backends(plan: RunPlan) -> dict[str, float]:
    """Label → calls kept per measured second, for the variants whose samples are thinned: controls whose
    engine has the ``keep`` option (null), unless ``keep=all``."""
    from infbench.engines.null import keep_rate
    from infbench.engines.registry import engine_info

    out: dict[str, float] = {}
    for spec in plan.backends:
        if spec.is_control and engine_info(spec.backend).options.get("keep") is not None:
            rate = keep_rate(spec.options)
            if rate is not None:
                out[spec.label] = rate
    return out


class RecordedRun:
    """One recorded run. `start()` runs it in a background thread; `wait()` joins it."""

    def __init__(
        self,
        plan: RunPlan,
        save: str | Path | None = None,
        *,
        monitors: bool = True,
        listeners: tuple[Any, ...] = (),
        progress: Any = None,
    ) -> None:
        from infbench.sessions.paths import default_session_path
        from infbench.sessions.store import LiveStore

        self.plan = plan
        self.path = Path(save) if save else default_session_path(Path(plan.model).name)
        self.store = LiveStore()
        # Opened by start(), after the model is ready: a failed prepare leaves no file.
        self.recorder: Any = None
        self.fanout = Fanout(self.store, *listeners)
        # Spike/step detection reads the store and emits events back through the fan-out (so they are recorded).
        self.analyzer = LiveAnalyzer(self.store, self.fanout.on_event)
        self.fanout.listeners.insert(1, self.analyzer)
        self.gate = SampleGate(self.fanout, thinned_backends(plan), full=listeners, seed=plan.seed)
        self.runner = Runner(
            plan,
            self.gate,
            monitors=monitors,
            progress=progress,
            health_check=lambda: self.recorder.error if self.recorder else None,
        )
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.outcome: str | None = None

    def prepare(self) -> None:
        """Prepare model and inputs (may build/export a built-in model on first use)."""
        self.runner.prepare()

    def start(self) -> None:
        """Open the session file (SessionError when it cannot be written) and run in a daemon thread."""
        from infbench.sessions.recorder import Recorder

        self.recorder = Recorder(self.path)
        self.fanout.listeners.insert(0, self.recorder)
        self.thread = threading.Thread(target=self._main, name="infbench-runner", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        try:
            # Warnings infbench logs during the run are recorded in the session as `log` events.
            with logs.recording_warnings(self.fanout, time.perf_counter_ns):
                self.outcome = self.runner.run()
        except BaseException as exc:
            self.error = exc
            self.outcome = "failed"

    def stop(self) -> None:
        """Stop soon; everything recorded so far is kept and the session is marked interrupted."""
        self.runner.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the run thread; True when it has finished."""
        if self.thread is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def finish(self) -> None:
        """After the thread ended: close the recorder and raise what went wrong, if anything."""
        if self.recorder is not None:
            self.recorder.close(self.outcome or "interrupted")
        if self.error is not None:
            if isinstance(self.error, InfbenchError):
                raise self.error
            raise InfbenchError(f"run failed: {type(self.error).__name__}: {self.error}") from self.error
        if self.recorder is not None and self.recorder.error:
            raise InfbenchError(f"recording failed: {self.recorder.error}")
        if self.runner.fatal:
            raise InfbenchError(self.runner.fatal)
