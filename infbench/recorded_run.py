"""A run wired for recording: Runner → Fanout(Recorder, LiveStore, LiveAnalyzer, extra listeners), in a thread.

Shared by the headless CLI and the live TUI so both record the same way: the recorder is always on.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from infbench.config import RunPlan
from infbench.errors import InfbenchError
from infbench.live_analysis import LiveAnalyzer
from infbench.records import Fanout
from infbench.runner import Runner


class RecordedRun:
    """One recorded run. `start()` runs it in a background thread; `wait()` joins it."""

    def __init__(self, plan: RunPlan, save: str | Path | None = None, *, monitors: bool = True,
                 listeners: tuple[Any, ...] = (), progress: Any = None) -> None:
        from infbench.sessions.paths import default_session_path
        from infbench.sessions.store import LiveStore

        self.plan = plan
        self.path = Path(save) if save else default_session_path(Path(plan.model).name)
        self.store = LiveStore()
        self.recorder: Any = None  # opened by start(), after the model is ready: a failed prepare leaves no file
        self.fanout = Fanout(self.store, *listeners)
        # Spike/step detection reads the store and emits events back through the fan-out (so they are recorded).
        self.analyzer = LiveAnalyzer(self.store, self.fanout.on_event)
        self.fanout.listeners.insert(1, self.analyzer)
        self.runner = Runner(plan, self.fanout, monitors=monitors, progress=progress,
                             health_check=lambda: self.recorder.error if self.recorder else None)
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
            self.outcome = self.runner.run()
        except BaseException as exc:  # noqa: BLE001 - surfaced by wait()
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
