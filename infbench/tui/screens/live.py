"""`LiveScreen`: the dashboard fed from a running `RecordedRun` (its LiveStore), with run controls."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.markup import escape

from infbench.plan.spec import RunPlan
from infbench.tui.messages import Progress, RunEnded, RunStarted
from infbench.tui.screens.dashboard import DashboardScreen
from infbench.tui.snapshot import Snapshot, SnapshotBuilder
from infbench.tui.widgets.header import RunHeader
from infbench.vocab import Status

log = logging.getLogger(__name__)


@dataclass
class LiveResult:
    """What a live run left behind: exit code, session file, and the error that ended it, if any."""

    code: int
    path: str | None
    error: BaseException | None = None


def exit_code(rec: Any) -> int:
    """0 all backends ok, 1 any failed/degraded (or the run failed), 130 interrupted — as the headless run."""
    if rec.outcome == "interrupted":
        return 130
    if rec.outcome != "complete":
        return 1
    from infbench.records import PHASE_MEASURE

    infos = rec.store.backend_infos()
    for label, info in infos.items():  # the status rule of analysis.summary, without sorting every sample
        if info.status in (Status.FAILED, Status.DEGRADED) or info.degraded_reasons:
            return 1
        count = getattr(rec.store, "sample_count", None)
        n = count(label, PHASE_MEASURE) if count else rec.store.samples(label, phase=PHASE_MEASURE)[0].size
        if n == 0:
            return 1
    return 0 if infos else 1


def _freeze_heap(collect: bool = True) -> None:
    """Move every object alive now (the app, and the modules the run imported: torch alone is ~100k objects)
    out of the collector's reach: a full collection of that heap stalls the UI thread for 100–200 ms every few
    seconds while the run allocates; afterwards it only scans what was made since. `collect` first frees the
    cyclic garbage (itself a full collection: only before the run measures)."""
    if collect:
        gc.collect()
    gc.freeze()


class LiveScreen(DashboardScreen):
    """Runs the plan (recording always on) and shows it live; quitting finishes the session file cleanly."""

    PLOT_EVERY = 2  # 10 Hz plots, half the panels per tick: with every engine at full rate the UI shares
    # two cores with them, and the plots are most of a frame's cost

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause/Resume", tooltip="Pause or resume the measurement (between turns)"),
        Binding("m", "mark", "Mark", tooltip="Drop a mark with a note at this moment"),
        Binding("x", "stop_backend", "Stop backend", tooltip="Stop the selected backend (the others go on)"),
        *DashboardScreen.BINDINGS,
    ]

    def __init__(
        self, plan: RunPlan, *, save: str | None = None, monitors: bool = True, from_setup: bool = False
    ) -> None:
        super().__init__(plan.labels, "")
        self.plan = plan
        self.save = save
        self.monitors = monitors
        self.from_setup = from_setup
        self.rec: Any = None
        self.builder: SnapshotBuilder | None = None
        self.phase = "preparing"
        self.progress = "preparing…"
        self.quit_requested = False
        self.result: LiveResult | None = None
        self._latest: Snapshot | None = None  # the newest snapshot the builder thread made
        self._build_error: BaseException | None = None
        self._want = threading.Event()  # set by the tick: build the next snapshot
        self._stop_build = threading.Event()
        self._frozen_loaded = False

    def on_mount(self) -> None:
        """Start the run worker (Textual also runs the base class's on_mount, which starts the tick)."""
        self.run_worker_thread()

    @work(thread=True, exit_on_error=False, group="run")
    def run_worker_thread(self) -> None:
        """Prepare (may export a model), run, wait, finish the session file; report back by messages."""
        from infbench.analysis.contention import every_core_warning
        from infbench.run.recorded_run import RecordedRun

        # before any engine loads, as the headless run warns (and off the UI thread: it reads the engines'
        # declarations, whose first look-up imports their modules)
        self.pre_notes = tuple(every_core_warning(self.plan.to_dict(), None))
        try:
            rec = RecordedRun(
                self.plan,
                self.save,
                monitors=self.monitors,
                progress=lambda msg: self.post_message(Progress(msg)),
            )
            self.rec = rec
            self.session = str(rec.path)
            self.post_message(Progress(f"preparing {self.plan.model}…"))
            rec.prepare()
        except Exception as exc:  # shown to the user (the setup form, or one line on exit)
            log.debug("the run could not start", exc_info=True)
            self.post_message(RunEnded("failed", f"{exc}"))
            self._error = exc
            return
        if self.quit_requested:
            rec.recorder.discard()
            self.post_message(RunEnded("interrupted", None))
            return
        _freeze_heap()
        rec.start()
        self.post_message(RunStarted())
        while not rec.wait(0.2):
            pass
        error = None
        try:
            rec.finish()
        except Exception as exc:  # shown in a notification and on exit
            log.warning("the session file could not be finished: %s", exc, exc_info=True)
            error = str(exc)
            self._error = exc
        self.post_message(RunEnded(rec.outcome or "interrupted", error))

    _error: BaseException | None = None
    pre_notes: tuple[str, ...] = ()
    """The every-core warning for the plan, shown from the start (the snapshots' own take over once running)."""

    monotonic = staticmethod(time.monotonic)
    """The clock that times the preparation steps (replaceable in tests)."""

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        """A preparation step (model build, export…): shown in the header with the time it has taken so far."""
        if message.text != self.progress:
            self.progress = message.text
            self._progress_t = self.monotonic()

    _progress_t: float | None = None

    @on(RunStarted)
    def _started(self) -> None:
        self.phase = "running"
        self.builder = SnapshotBuilder(self.rec.store, self.session, inline_final=False)
        self._want.set()
        threading.Thread(target=self._build_loop, name="infbench-snapshots", daemon=True).start()

    def _build_loop(self) -> None:
        """Builder thread: one snapshot per request of the tick, so folding a burst of calls (a null engine's
        turn can deliver a million at once) never stalls the UI thread; the screen shows the previous one."""
        while not self._stop_build.is_set():
            if not self._want.wait(0.5):
                continue
            self._want.clear()
            builder = self.builder
            if builder is None:
                continue
            try:
                self._latest = snap = builder.build(None)
                if (
                    not self._frozen_loaded
                    and snap.backends
                    and all(b.count > 0 or Status.parse(b.status).final for b in snap.backends)
                ):
                    self._frozen_loaded = True  # every backend loaded: the modules their hosts imported, too
                    _freeze_heap(collect=False)
            except BaseException as exc:  # re-raised on the UI thread by the next tick
                log.debug("building a snapshot failed", exc_info=True)
                self._build_error = exc
                return

    def on_unmount(self) -> None:
        """Stop the builder thread."""
        self._stop_build.set()
        self._want.set()

    @on(RunEnded)
    def _ended(self, message: RunEnded) -> None:
        started = self.phase != "preparing" or self.builder is not None
        self.phase = "ended"
        self.tick()
        if not started and not self.quit_requested:
            self._finish(LiveResult(2 if self._error is not None else 1, None, self._error))
            return
        code = 1 if message.error else (exit_code(self.rec) if self.rec and started else 130)
        self.result = LiveResult(code, (self.session or None) if started else None, self._error)
        if self.quit_requested:
            self._finish(self.result)
        elif message.error:
            self.notify(f"run ended: {message.error}", severity="error", timeout=30)
        else:
            self.notify(f"run {message.outcome}; session saved: {self.session} — press q to quit", timeout=15)

    def _finish(self, result: LiveResult) -> None:
        if self.from_setup and result.path is None and result.error is not None and not self.quit_requested:
            self.pop_until_active()  # e.g. the help screen opened while preparing
            self.dismiss(str(result.error))  # back to the setup form, which shows the error
            return
        self.app.exit(result)

    def snapshot(self) -> Snapshot | None:
        """Everything recorded so far."""
        if self._build_error is not None:
            raise self._build_error
        if self.builder is None:
            return None
        self._want.set()  # the next tick shows what this request builds
        return self._latest

    def show_header(self, snap: Snapshot | None) -> None:
        """Model, session file, elapsed, state."""
        runner = self.rec.runner if self.rec is not None else None
        elapsed = 0.0
        if snap is not None and self.rec is not None and self.rec.store.t0_ns:
            elapsed = (time.perf_counter_ns() - self.rec.store.t0_ns) / 1e9
            if self.phase == "ended":
                elapsed = snap.end_s
        if self.phase == "preparing":
            state, style = self.progress, "$text-primary"
            if self._progress_t is not None:
                state += f" {self.monotonic() - self._progress_t:.1f} s"
        elif self.phase == "stopping":
            state, style = "stopping… finishing the session file", "bold $text-warning"
        elif self.phase == "finishing" or (self.phase == "running" and self.measuring_over()):
            state, style = "■ measured: finishing the session file…", "bold $text-primary"
        elif self.phase == "ended":
            state, style = f"run {snap.outcome if snap and snap.outcome else 'ended'}", "bold"
        elif runner is not None and runner.paused:
            state, style = "⏸ paused (current turn finishes)", "bold $text-warning"
        else:
            state, style = "● recording", "bold $text-success"
        self.query_one(RunHeader).show(
            mode="LIVE",
            model=self.plan.model,
            session=self.session,
            clock_s=elapsed,
            state=state,
            state_style=style,
            extra=f"{self.plan.schedule} · {self.plan.workload_text()}",
            notes=snap.notes if snap is not None else self.pre_notes,
        )

    def _runner(self) -> Any:
        if self.rec is None or self.phase != "running":
            self.notify(
                "the run is not measuring yet" if self.phase == "preparing" else "the run has ended",
                severity="warning",
            )
            return None
        return self.rec.runner

    def action_pause(self) -> None:
        """Pause or resume the measurement (between turns)."""
        runner = self._runner()
        if runner is not None:
            (runner.resume if runner.paused else runner.pause)()
            self.tick()

    def action_mark(self) -> None:
        """Drop a user mark with a note."""
        if self._runner() is None:
            return
        from infbench.tui.screens.mark import MarkModal

        def dropped(note: str | None) -> None:
            if note is not None and self.rec is not None and self.phase == "running":
                self.rec.runner.mark(note)
                self.notify(f"mark: {escape(note)}")

        self.app.push_screen(MarkModal(), callback=dropped)

    def action_stop_backend(self) -> None:
        """Stop the selected backend (select a panel with Tab or a click first)."""
        runner = self._runner()
        if runner is None:
            return
        label = self.selected_label()
        if label is None:
            self.notify("select a backend panel first (Tab or click), then press x", severity="warning")
            return
        runner.stop_backend(label)
        self.notify(f"stopping {escape(label)}…")

    def measuring_over(self) -> bool:
        """Whether every backend has finished measuring (done, crashed or stopped): the run is only shutting its
        engines down and writing the session file, and quitting must not turn it into an interrupted run."""
        if self.rec is None or self.phase not in ("running", "finishing"):
            return False
        if self.rec.outcome is not None or self.rec.store.outcome() is not None:
            return True
        infos = self.rec.store.backend_infos()
        return bool(infos) and all(Status.parse(i.status).final for i in infos.values())

    def action_quit_run(self) -> None:
        """Quit. A finished run (or one whose backends have all finished measuring) exits with the run's own
        code once its session file is written; a run still measuring is stopped (interrupted, exit 130) and its
        file finished in a worker; q a second time kills the engines."""
        if self.phase == "ended" or (self.phase == "preparing" and self.rec is None):
            self.app.exit(self.result or LiveResult(130, None))
            return
        if self.quit_requested:
            self._kill_worker()  # engines that hang on their way out (the outcome is already decided)
            return
        self.quit_requested = True
        if self.measuring_over():
            self.phase = "finishing"  # no stop: the run completes, then `_ended` exits with its code
            self.notify("the run has finished measuring: writing the session file, then quitting…")
            self.tick()
            return
        if self.phase == "running":
            self.phase = "stopping"
            self._stop_worker()
        self.notify("stopping… (q again kills the engines)")
        self.tick()

    @work(thread=True, exit_on_error=False, group="stop")
    def _stop_worker(self) -> None:
        self.rec.stop()

    @work(thread=True, exit_on_error=False, group="stop")
    def _kill_worker(self) -> None:
        for host in list(self.rec.runner.hosts.values()):
            host.kill()
