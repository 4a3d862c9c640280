"""Live slowdown detection during a run, with each episode attributed to what the monitors saw.

`LiveAnalyzer` is a RunListener with its own low-rate thread: once a second it hands each backend's new
measured calls to that backend's `SlowdownTracker` (the same one `report` runs over the whole session, so live
and report agree) and emits one ``spike`` / ``step`` / ``drift`` event per slowdown episode with its faces and
attribution, and a ``detection`` event when a backend has too few calls for detection to run. The events go
through the run's listener fan-out, so they are recorded and replay shows them exactly as live.

A generating variant (``--task generate``, its engine stamps tokens) is tracked on its inter-token latency
instead, exactly as `report` does (`analysis.itl_detection`): a throttle shows as an ITL step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from infbench.analysis.attribution import attribute
from infbench.analysis.detection import Episode, Finding, SlowdownTracker
from infbench.analysis.findings import cause_text, turn_ends
from infbench.analysis.generation import is_generate, read_tokens, token_series
from infbench.analysis.itl_detection import GAP, SERIES_ITL, boundaries, itl_calls, itl_headline
from infbench.records import PHASE_MEASURE, RunEvent
from infbench.vocab import EventKind, Role

# Readings are stamped at the end of the interval they cover; the slowest (other processes) every 2 s.
ATTRIBUTION_DELAY_NS = 3_000_000_000
SUSTAINED_NS = 10_000_000_000  # a slowdown still going on after this long is reported while it lasts
SPARSE_AFTER_NS = 10_000_000_000  # say that detection is not running yet after this long without enough calls


class _Track:
    """Detector state of one backend."""

    def __init__(self, label: str) -> None:
        self.tracker = SlowdownTracker(label)
        self.next_t: int | None = None
        self.pending: list[Finding] = []  # every alarm so far (episodes are re-formed from all of them)
        self.emitted: set[int] = set()  # start times of the episodes already reported
        self.first_t: int | None = None
        self.told_sparse = False
        self.itl: bool | None = (
            None  # tracked on inter-token latency (None: not known before its first calls)
        )
        self.token_calls = 0  # generating calls already fed
        self.token_stamps = 0  # and their stamps
        self.request_ends = np.empty(0, np.int64)  # the last token of every request fed
        self.batch = 1


class LiveAnalyzer:
    """Online slowdown detection over a RunData that is being filled (the LiveStore)."""

    def __init__(self, data: Any, emit: Callable[[RunEvent], None], interval_s: float = 1.0) -> None:
        self.data = data
        self.emit = emit
        self.interval_s = interval_s
        self.t0_ns = 0
        self._labels: list[str] = []
        self._generate = False  # a ``--task generate`` plan: variants with token stamps are tracked on ITL
        self._batch: dict[str, int] = {}
        self._tracks: dict[str, _Track] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.found: list[RunEvent] = []

    # ---- RunListener ---------------------------------------------------------------------------------------
    def on_start(self, plan: dict, system: dict, t0_ns: int, t0_wall: float) -> None:
        """Start the analysis thread."""
        self.t0_ns = t0_ns
        self._labels = [  # a harness control's slowdowns are the harness's: not analysed
            b["label"] for b in plan.get("backends", []) if Role.CONTROL not in (b.get("roles") or ())
        ]
        self._generate = is_generate(plan)
        batch = (plan.get("workload") or {}).get("batch", 1)
        self._batch = {
            b["label"]: int((b.get("options") or {}).get("batch", batch) or 1)
            for b in plan.get("backends", [])
        }
        self._thread = threading.Thread(target=self._loop, name="infbench-live-analysis", daemon=True)
        self._thread.start()

    def on_finish(self, outcome: str) -> None:
        """Stop the thread after one last pass that closes open episodes."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)

    # ---- the work ----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.step(final=False)
        self.step(final=True)

    def step(self, final: bool = False) -> list[RunEvent]:
        """One pass over every backend's new samples; returns (and emits) the events that are ready.

        An episode is emitted once it has ended and `ATTRIBUTION_DELAY_NS` has passed (so every monitor has
        read its window and related alarms have merged into it), once it has gone on for `SUSTAINED_NS`, or at
        the end of the run.
        """
        now = self.data.end_ns()
        out: list[RunEvent] = []
        for label in self._labels:
            track = self._tracks.setdefault(label, _Track(label))
            out += self._pass(label, track, now, final)
        out.sort(key=lambda e: e.t_ns)
        for event in out:
            self.found.append(event)
            self.emit(event)
        return out

    def _feed_tokens(self, label: str, track: _Track, final: bool) -> None:
        """Feed a generating variant's new inter-token gaps to its tracker."""
        start, counts, stamps = read_tokens(self.data, label, PHASE_MEASURE)
        new_start, new_counts = start[track.token_calls :], counts[track.token_calls :]
        new_stamps = stamps[track.token_stamps : track.token_stamps + int(new_counts.sum())]
        track.token_calls, track.token_stamps = counts.size, track.token_stamps + new_stamps.size
        series = token_series(new_start, new_counts, new_stamps, self._batch.get(label, 1))
        gs, gd = itl_calls(series)
        # every request's end so far: calls the tracker buffered from an earlier pass are judged with these
        track.request_ends = np.concatenate([track.request_ends, series.request_ends()])
        ends = np.sort(np.concatenate([boundaries(series, self.data, label), track.request_ends]))
        if gs.size:
            track.first_t = track.first_t if track.first_t is not None else int(gs[0])
            track.pending += track.tracker.feed(gs, gd, ends, final=False)
        if final:
            track.pending += track.tracker.feed(gs[:0], gd[:0], ends, final=True)

    def _pass(self, label: str, track: _Track, now: int, final: bool) -> list[RunEvent]:
        if self._generate and track.itl is None:
            # calls counted before the stamps are read: a block's stamps are stored with its calls
            calls = self.data.samples(label, None, None, PHASE_MEASURE)[0].size
            if read_tokens(self.data, label, PHASE_MEASURE)[1].size:
                track.itl = True
            elif calls:
                track.itl = False  # measured calls without token stamps: tracked on its calls
        if track.itl:
            self._feed_tokens(label, track, final)
        else:
            start, dur = self.data.samples(label, track.next_t, None, PHASE_MEASURE)
            if start.size:
                track.first_t = track.first_t if track.first_t is not None else int(start[0])
                track.next_t = int(start[-1]) + 1
                track.pending += track.tracker.feed(start, dur, turn_ends(self.data, label), final=False)
            if final:
                track.pending += track.tracker.feed(
                    start[:0], dur[:0], turn_ends(self.data, label), final=True
                )
        events = self._sparse(label, track, now, final)
        current = None if final else track.tracker.open_alarm()
        alarms = track.pending + ([current] if current is not None else [])
        if not alarms:
            return events
        busy = current is not None
        # Episodes over every alarm so far: a slowdown that goes on absorbs its later alarms.
        for ep in track.tracker.episodes(alarms):
            if ep.t_start_ns in track.emitted:
                continue
            ongoing = ep.kind != EventKind.SPIKE  # still slow at the end of the data so far
            ready = (
                final
                or (ongoing and now - ep.t_start_ns >= SUSTAINED_NS)
                or (not ongoing and not busy and ep.t_end_ns + ATTRIBUTION_DELAY_NS <= now)
            )
            if ready:
                events.append(self._event(ep, bool(track.itl)))
                track.emitted.add(ep.t_start_ns)
        return events

    def _sparse(self, label: str, track: _Track, now: int, final: bool) -> list[RunEvent]:
        """One ``detection`` event when a backend has run a while (or the run ended) without enough calls."""
        status = track.tracker.status()
        if track.itl:
            status = replace(status, unit=GAP)  # the series counts inter-token gaps, not calls
        waited = track.first_t is not None and now - track.first_t >= SPARSE_AFTER_NS
        if status.active or track.told_sparse or not (final or waited):
            return []
        track.told_sparse = True
        t = self.data.end_ns() if final else now
        return [RunEvent(t, EventKind.DETECTION, f"{label}: {status.message()}", label, status.to_dict())]

    def _event(self, ep: Episode, itl: bool = False) -> RunEvent:
        attr = attribute(ep.t_start_ns, ep.t_end_ns, self.data, backend=ep.backend).to_dict()
        t_s = (ep.t_start_ns - self.t0_ns) / 1e9
        headline = itl_headline(ep) if itl else ep.headline()
        message = f"{ep.backend}: {headline} at {t_s:.1f} s — {cause_text(attr)}"
        data = {**ep.to_dict(), "attribution": attr, **({"series": SERIES_ITL} if itl else {})}
        return RunEvent(ep.t_start_ns, ep.kind, message, ep.backend, data)
