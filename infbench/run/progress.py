"""Headless progress: one Rich progress bar per backend (plain lines when stderr is not a terminal), fed by
RunListener callbacks; and the expected duration of a run, up front and once the time per call is known.

The bar's ``median`` is the running median of *all* measured calls so far, the statistic the results table
reports as median (kept in a histogram of 1/1024-octave bins, so it agrees with the table to within 0.07 %).
The ``until`` column names the limit that binds: a backend measures until both ``-d`` seconds of turns and
``-n`` calls are reached, so the one further from done is the one it is waiting for.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from infbench.metrics import fmt_ms, fmt_seconds
from infbench.records import PHASE_MEASURE, PHASE_WARMUP, BackendInfo, RunEvent, SampleBlock, TurnRecord
from infbench.report.style import styled
from infbench.vocab import EventKind, Status, Tone

log = logging.getLogger(__name__)

BINS_PER_OCTAVE = 1024
MAX_OCTAVE = 44  # 2**44 ns ≈ 4.9 hours: longer calls land in the last bin
PLAIN_STEP = 0.1  # without a terminal, a line per backend at every 10 % of progress
INTERRUPTED = "interrupted"  # shown for a backend still going when a signal stopped the run
FINAL_STATES = (Status.DONE, Status.FAILED, Status.STOPPED, INTERRUPTED)
WARN_EVENTS = (
    EventKind.THROTTLE_ON,
    EventKind.THROTTLE_OFF,
    EventKind.SPIKE,
    EventKind.STEP,
    EventKind.DRIFT,
)


class MedianHistogram:
    """The running median of call durations (ns) in log-spaced bins: O(new calls) per update, fixed memory."""

    def __init__(self) -> None:
        self.counts = np.zeros(MAX_OCTAVE * BINS_PER_OCTAVE + 1, dtype=np.int64)
        self.n = 0

    def add(self, dur_ns: np.ndarray) -> None:
        """Count these durations."""
        d = np.maximum(np.asarray(dur_ns, dtype=np.float64), 1.0)
        idx = np.minimum((np.log2(d) * BINS_PER_OCTAVE).astype(np.int64), self.counts.size - 1)
        self.counts += np.bincount(idx, minlength=self.counts.size)
        self.n += int(d.size)

    def median_ns(self) -> float | None:
        """The median (the centre of its bin, geometric), or None before any call."""
        if self.n == 0:
            return None
        k = int(np.searchsorted(np.cumsum(self.counts), (self.n + 1) / 2))
        return float(2.0 ** ((k + 0.5) / BINS_PER_OCTAVE))


def plan_summary(plan: Any) -> str:
    """One line, before anything loads: what decides how long the run takes, and the shortest it can take."""
    n = len(plan.backends)
    warm = (f"{plan.warmup_iterations} warm-up calls" if plan.warmup_iterations else "") + (
        f"{' and ' if plan.warmup_iterations else ''}{plan.warmup_s:g} s warm-up" if plan.warmup_s else ""
    )
    floor = plan.duration_s if plan.schedule == "concurrent" else plan.duration_s * n
    per_call = plan.duration_s / plan.iterations
    how = {"interleaved": "taking turns", "sequential": "one after another", "concurrent": "all at once"}
    return (
        f"expected: each of {n} backend(s) measures until both -d {plan.duration_s:g} s and -n "
        f"{plan.iterations} calls are reached{', after ' + warm if warm else ''}; {how[plan.schedule]} that is "
        f"≥ {fmt_seconds(floor)} of measuring, longer for a backend slower than "
        f"{per_call * 1e3:.3g} ms a call (-n binds); estimate after warm-up{_corpus_note(plan)}"
    )


def _corpus_note(plan: Any) -> str:
    """``; corpus builtin: 1000 texts, 250 inputs of 4`` for a corpus workload (the count stored with the plan,
    else the file is read again), with ``--whole-corpus`` the passes each variant measures; else ``""``."""
    from infbench.engines.corpus import BUILTIN, BUILTIN_SIZE, load_corpus
    from infbench.errors import ConfigError

    wl = plan.workload
    corpus = getattr(wl, "corpus", None)
    if not corpus:
        return ""
    n = getattr(wl, "corpus_texts", None)
    try:
        if not n:
            n = BUILTIN_SIZE if corpus == BUILTIN else len(load_corpus(corpus, wl.corpus_column))
    except ConfigError as exc:  # already validated with the plan: a file changed since
        log.warning("corpus %s: %s", corpus, exc)
        return f"; corpus {corpus}"
    batches = list(dict.fromkeys(int(b.options.get("batch", wl.batch)) for b in plan.backends)) or [wl.batch]
    inputs = ", ".join(f"{-(-n // b)} {'inputs ' if i == 0 else ''}of {b}" for i, b in enumerate(batches))
    passes = getattr(wl, "whole_corpus", 0)
    whole = f"; each variant measures at least {passes} whole passes over it" if passes else ""
    return f"; corpus {corpus}: {n} texts, {inputs}{whole}"


class HeadlessProgress:
    """A RunListener showing per-backend progress: calls, running median, the binding limit; on a terminal as
    Rich bars, otherwise as plain lines (at the first measured block, every 10 % and at the end).

    It also prints the expected measuring time once every backend's time per call is known (after warm-up).
    """

    def __init__(
        self,
        console: Console,
        labels: list[str],
        duration_s: float,
        iterations: int,
        schedule: str = "interleaved",
    ) -> None:
        self.console = console
        self.duration_s = duration_s
        self.iterations = iterations
        self.schedule = schedule
        self.labels = list(labels)
        self.plain = not console.is_terminal
        self.progress = Progress(
            TextColumn("{task.fields[label]}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[status]:<11}"),
            TextColumn("{task.fields[calls]:>11} calls"),
            TextColumn("median {task.fields[median]:>9}"),
            TextColumn("until {task.fields[until]}"),
            TextColumn("{task.fields[passes]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
            disable=self.plain,
        )
        self._lock = threading.Lock()
        width = max((len(lab) for lab in labels), default=8)
        self._committed_ns: dict[str, int] = {
            lab: 0 for lab in labels
        }  # measure turns' wall time (the -d rule)
        self._pending_ns: dict[str, int] = {lab: 0 for lab in labels}  # blocks of the turn under way
        self._calls: dict[str, int] = {lab: 0 for lab in labels}
        self._hist = {lab: MedianHistogram() for lab in labels}
        self._per_call_s: dict[str, float] = {}
        self._status: dict[str, str] = {lab: Status.PENDING for lab in labels}
        self._plain_step: dict[str, int] = {lab: -1 for lab in labels}
        self._median_at: dict[str, float] = {lab: 0.0 for lab in labels}
        self._binding: dict[str, str] = {lab: "time" for lab in labels}
        self._need: dict[str, int] = {
            lab: iterations for lab in labels
        }  # -n, or N whole-corpus passes' calls
        self._pass_items: dict[str, int] = {}  # calls per whole-corpus pass (``--whole-corpus``)
        self._passes = 0
        self.estimate_printed = False
        self._tasks = {
            lab: self.progress.add_task(
                "",
                total=1.0,
                label=escape(lab.ljust(width)),
                status=Status.PENDING.value,
                calls=0,
                median="—",
                until=self._until_text(lab),
                passes="",
            )
            for lab in labels
        }

    def on_start(self, plan: dict[str, Any], system: dict[str, Any], t0_ns: int, t0_wall: float) -> None:
        """With ``--whole-corpus N``: each variant needs N passes of its inputs (calls), shown as passes done."""
        from infbench.analysis.corpus_time import items_per_pass, passes_wanted

        self._passes = passes_wanted(plan)
        if not self._passes:
            return
        for backend in plan.get("backends") or []:
            label = backend.get("label")
            roles = backend.get("roles") or []
            items = items_per_pass(plan, backend.get("options") or {})
            if label in self._need and items is not None and "control" not in roles:
                self._pass_items[label] = items
                self._need[label] = max(self.iterations, self._passes * items)
                self.progress.update(self._tasks[label], passes=self._passes_text(label))

    def _passes_text(self, label: str) -> str:
        """``pass 2/3 (40 %)``: whole-corpus passes done and the current pass's fraction (empty when none)."""
        items = self._pass_items.get(label)
        if not items:
            return ""
        calls = self._calls[label]
        done = calls // items
        if done >= self._passes:
            return f"passes {done}/{self._passes}"
        return f"passes {done}/{self._passes} ({100 * (calls % items) // items}% of pass {done + 1})"

    def __enter__(self) -> HeadlessProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.refresh()
        self.progress.stop()
        if self.plain:
            for label in self.labels:
                if self._status[label] == INTERRUPTED:
                    self._plain_line(label)

    # ---- figures -----------------------------------------------------------------------------------------
    def measured(self, label: str) -> tuple[int, float]:
        """(measured calls, measured seconds as the -d rule counts them) of `label` so far."""
        with self._lock:
            return self._calls[label], (self._committed_ns[label] + self._pending_ns[label]) / 1e9

    def binding(self, label: str) -> str:
        """``time`` or ``calls``: the limit `label` is further from (the one it waits for)."""
        calls, secs = self.measured(label)
        if label in self._per_call_s:  # project both limits with the known pace
            need_calls = max(0, self._need[label] - calls) * self._per_call_s[label]
            return "calls" if need_calls > max(0.0, self.duration_s - secs) else "time"
        return "calls" if calls / self._need[label] < secs / self.duration_s else "time"

    def fraction(self, label: str) -> float:
        """How far `label` is, 0..1: the smaller of the two limits' fractions."""
        calls, secs = self.measured(label)
        return min(secs / self.duration_s, calls / self._need[label], 1.0)

    def median_ms(self, label: str) -> float | None:
        """The running median of `label`'s measured calls, ms."""
        with self._lock:
            m = self._hist[label].median_ns()
        return None if m is None else m / 1e6

    def _until_text(self, label: str) -> str:
        calls, secs = self.measured(label)
        need = self._need[label]
        if calls < need or secs < self.duration_s:  # once both are met, the last binding one stays
            self._binding[label] = self.binding(label)
        if self._binding[label] == "calls":
            limit = "passes" if need > self.iterations else "-n"
            return f"{limit} {calls:,}/{need:,} calls"
        return f"-d {secs:.1f}/{self.duration_s:g} s"

    def expected_s(self) -> dict[str, float] | None:
        """Expected measuring seconds per backend once each live one has a time per call, else None."""
        live = [lab for lab in self.labels if self._status[lab] not in (Status.FAILED, Status.STOPPED)]
        if not live or any(lab not in self._per_call_s for lab in live):
            return None
        return {lab: max(self.duration_s, self._need[lab] * self._per_call_s[lab]) for lab in live}

    def estimate_line(self) -> str | None:
        """``expected ≈ 86 s of measuring: …`` naming the binding limit per backend, once known."""
        per = self.expected_s()
        if per is None:
            return None
        total = max(per.values()) if self.schedule == "concurrent" else sum(per.values())
        parts = []
        for lab, secs in per.items():
            pc = self._per_call_s[lab]
            need = self._need[lab]
            limit = f"{self._passes} corpus passes ({need} calls)" if need > self.iterations else f"-n {need}"
            why = f"{limit} {'bind' if need > self.iterations else 'binds'} at {_fmt_call(pc)}/call"
            if need * pc <= self.duration_s:
                why = "-d binds"
            parts.append(f"{lab} {fmt_seconds(secs)} ({why})")
        return f"expected ≈ {fmt_seconds(total)} of measuring: " + ", ".join(parts)

    # ---- RunListener -------------------------------------------------------------------------------------
    def on_samples(self, block: SampleBlock) -> None:
        """Count a block: calls, running median, and time towards -d; warm-up gives the time per call."""
        if len(block) == 0 or block.backend not in self._tasks:
            return
        label = block.backend
        if block.phase == PHASE_WARMUP:
            if label not in self._per_call_s:
                with self._lock:
                    self._per_call_s[label] = float(np.median(block.dur_ns)) / 1e9
            return
        if block.phase != PHASE_MEASURE:
            return
        with self._lock:
            # the block's span ≈ the turn time it covers; replaced by the turn's exact wall time at its end
            self._pending_ns[label] += int(block.start_ns[-1] + block.dur_ns[-1] - block.start_ns[0])
            self._calls[label] += len(block)
            self._hist[label].add(block.dur_ns)
            if label not in self._per_call_s:
                self._per_call_s[label] = float(np.mean(block.dur_ns)) / 1e9
        self._show(label)

    def on_turn(self, turn: TurnRecord) -> None:
        """A finished turn: its wall time is what the -d rule counts; a warm-up turn gives the time per call."""
        if turn.backend not in self._tasks or turn.calls <= 0:
            return
        with self._lock:
            if turn.phase == PHASE_WARMUP:
                self._per_call_s[turn.backend] = (turn.end_ns - turn.start_ns) / 1e9 / turn.calls
            elif turn.phase == PHASE_MEASURE:
                self._committed_ns[turn.backend] += turn.end_ns - turn.start_ns
                self._pending_ns[turn.backend] = 0
                total = self._committed_ns[turn.backend] / 1e9
                self._per_call_s[turn.backend] = total / max(1, self._calls[turn.backend])
        if turn.phase == PHASE_WARMUP:
            self._maybe_estimate()
        else:
            self._show(turn.backend, force=True)

    def on_backend(self, info: BackendInfo) -> None:
        """Show the backend's status."""
        if info.label not in self._tasks:
            return
        previous = self._status[info.label]
        if previous == INTERRUPTED:
            return
        status = Status.parse(info.status)
        self._status[info.label] = status
        fields: dict[str, Any] = {"status": status.value}
        if status in FINAL_STATES:
            fields["completed"] = 1.0 if status is Status.DONE else self.fraction(info.label)
        self.progress.update(self._tasks[info.label], **fields)
        if status in (Status.WAITING, Status.RUNNING):
            self._maybe_estimate()
        if self.plain and status in FINAL_STATES and previous not in FINAL_STATES:
            self._plain_line(info.label)

    def on_event(self, event: RunEvent) -> None:
        """Print errors and sensor notices above the bars."""
        kind = EventKind.parse(event.kind)
        if kind is EventKind.ENGINE_ERROR:
            self.console.print(styled(f"{kind.glyph} {event.message}", kind.tone))
        elif kind in WARN_EVENTS:
            self.console.print(styled(f"⚠ {event.message}", Tone.WARN))

    def mark_interrupted(self) -> None:
        """Show every backend that has not finished as interrupted (the run was stopped by a signal)."""
        for label in self.labels:
            if self._status[label] not in FINAL_STATES:
                self._status[label] = INTERRUPTED
                self.progress.update(self._tasks[label], status=INTERRUPTED)

    # ---- drawing -----------------------------------------------------------------------------------------
    def _show(self, label: str, force: bool = False) -> None:
        now = time.monotonic()
        fields: dict[str, Any] = {
            "completed": self.fraction(label),
            "calls": f"{self._calls[label]:,}",
            "until": self._until_text(label),
            "passes": self._passes_text(label),
        }
        if force or now - self._median_at[label] >= 0.25:
            self._median_at[label] = now
            fields["median"] = fmt_ms(self.median_ms(label))
        self.progress.update(self._tasks[label], **fields)
        if self.plain:
            step = int(self.fraction(label) / PLAIN_STEP)
            if step > self._plain_step[label]:
                self._plain_step[label] = step
                self._plain_line(label)

    def _plain_line(self, label: str) -> None:
        calls, _ = self.measured(label)
        self.console.print(
            f"progress {escape(label)}: {self.fraction(label) * 100:3.0f}%  {self._status[label]}  {calls:,} calls  "
            f"median {fmt_ms(self.median_ms(label))}  until {self._until_text(label)}"
            + (f"  {self._passes_text(label)}" if label in self._pass_items else ""),
            highlight=False,
            soft_wrap=True,
        )

    def _maybe_estimate(self) -> None:
        if self.estimate_printed:
            return
        line = self.estimate_line()
        if line is not None:
            self.estimate_printed = True
            self.console.print(escape(line), highlight=False, soft_wrap=True)


def _fmt_call(seconds: float) -> str:
    return fmt_ms(seconds * 1e3) if math.isfinite(seconds) else "?"


class PrepareProgress:
    """Prints preparation steps (model build, ONNX export, loading) as dim lines."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, message: str) -> None:
        self.console.print(f"[dim]· {escape(message)}[/dim]")
