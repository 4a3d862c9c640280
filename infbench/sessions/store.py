"""`LiveStore`: the in-memory, columnar copy of a running run — a RunListener and a RunData at once.

Engine hosts and the monitor sampler push into it from their threads; the headless report and the live TUI
query it by time. Sample blocks are appended as they come and merged into larger chunks lazily, so appends
stay O(1) and a time-window query touches only the chunks that overlap the window.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import replace
from typing import Any

import numpy as np

from infbench.plan.spec import plan_roles
from infbench.records import (
    PHASE_MEASURE,
    PHASE_WARMUP,
    BackendInfo,
    MonitorReading,
    RunEvent,
    SampleBlock,
    TurnRecord,
)
from infbench.sessions import extras
from infbench.sessions.turns import TurnArrays, turn_arrays
from infbench.sessions.validate import attach_roles

PHASE_CODES = {PHASE_WARMUP: 0, PHASE_MEASURE: 1}
_MERGE_SAMPLES = 1 << 16  # pending blocks are merged into one chunk at this many samples …
_MERGE_BLOCKS = 32  # … or this many blocks


class _Chunk:
    """Contiguous samples of one backend: start, duration, phase code and input index arrays, and the calls'
    extras (parts, token stamps) when the engine reports them."""

    __slots__ = ("dur", "ex", "idx", "phase", "start", "t_first", "t_last")

    def __init__(
        self,
        start: np.ndarray,
        dur: np.ndarray,
        phase: np.ndarray,
        idx: np.ndarray,
        ex: extras.Extras | None = None,
    ) -> None:
        self.start, self.dur, self.phase, self.idx, self.ex = start, dur, phase, idx, ex
        self.t_first = int(start.min()) if start.size else 0
        self.t_last = int(start.max()) if start.size else 0


def _concat(chunks: list[_Chunk]) -> _Chunk:
    if len(chunks) == 1:
        return chunks[0]
    ex = None
    if any(c.ex is not None for c in chunks):
        ex = extras.merge([c.ex if c.ex is not None else extras.Extras(c.start.size) for c in chunks])
    return _Chunk(
        np.concatenate([c.start for c in chunks]),
        np.concatenate([c.dur for c in chunks]),
        np.concatenate([c.phase for c in chunks]),
        np.concatenate([c.idx for c in chunks]),
        ex,
    )


class _Series:
    """All samples of one backend: merged chunks plus recently appended small blocks."""

    def __init__(self) -> None:
        self.chunks: list[_Chunk] = []
        self.pending: list[_Chunk] = []
        self.pending_n = 0
        self.version = 0
        self.count = [0, 0]  # per phase code
        self.last_end = 0
        self.cache: dict[tuple, tuple[int, tuple[np.ndarray, np.ndarray]]] = {}
        self.xcache: dict[int | None, tuple[int, tuple[np.ndarray, extras.Extras] | None]] = {}
        self.has_extras = False

    def append(self, chunk: _Chunk, code: int) -> None:
        n = chunk.start.size
        self.pending.append(chunk)
        self.pending_n += n
        self.count[code] += n
        self.last_end = max(self.last_end, int((chunk.start + chunk.dur).max()))
        self.version += 1
        self.has_extras = self.has_extras or chunk.ex is not None
        if self.pending_n >= _MERGE_SAMPLES or len(self.pending) >= _MERGE_BLOCKS:
            self.chunks.append(_concat(self.pending))
            self.pending, self.pending_n = [], 0

    def query(self, t0: int | None, t1: int | None, code: int | None) -> tuple[np.ndarray, np.ndarray]:
        key = (t0, t1, code)
        hit = self.cache.get(key)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        parts = [
            c
            for c in self.chunks + self.pending
            if (t0 is None or c.t_last >= t0) and (t1 is None or c.t_first < t1)
        ]
        if not parts:
            out = (np.empty(0, np.int64), np.empty(0, np.int64))
        else:
            c = _concat(parts)
            mask = None
            if t0 is not None:
                mask = c.start >= t0
            if t1 is not None:
                m = c.start < t1
                mask = m if mask is None else mask & m
            if code is not None:
                m = c.phase == code
                mask = m if mask is None else mask & m
            out = (c.start, c.dur) if mask is None else (c.start[mask], c.dur[mask])
        if len(self.cache) > 16:
            self.cache.clear()
        self.cache[key] = (self.version, out)
        return out

    def extras(self, code: int | None) -> tuple[np.ndarray, extras.Extras] | None:
        """(start_ns, extras) of the calls of one phase code (None: all), in `query` order; None without any."""
        if not self.has_extras:
            return None
        hit = self.xcache.get(code)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        c = _concat(self.chunks + self.pending)
        ex = c.ex if c.ex is not None else extras.Extras(c.start.size)
        out = (c.start, ex) if code is None else (c.start[c.phase == code], ex.take(c.phase == code))
        self.xcache[code] = (self.version, out)
        return out


class LiveStore:
    """In-memory run data; thread-safe. Implements both `RunListener` and `RunData`.

    Attributes:
        plan: the plan dict (`RunPlan.to_dict()`), empty until `on_start`.
        system: the system fingerprint.
        t0_ns: perf_counter_ns of the run's t=0.
        t0_wall: wall-clock time (epoch seconds) of t=0.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.plan: dict[str, Any] = {}
        self.system: dict[str, Any] = {}
        self.t0_ns = 0
        self.t0_wall = 0.0
        self._infos: dict[str, BackendInfo] = {}
        self._series: dict[str, _Series] = {}
        self._metric_t: dict[str, list[int]] = {}
        self._metric_v: dict[str, list[Any]] = {}
        self._metric_cache: dict[str, tuple[int, tuple[np.ndarray, np.ndarray]]] = {}
        self._events: list[RunEvent] = []
        self._event_t: list[int] = []
        self._turns: dict[str, list[TurnRecord]] = {}
        self._turn_cache: dict[tuple[str, str | None], tuple[int, TurnArrays]] = {}
        self._end_ns = 0
        self._outcome: str | None = None

    # ---- RunListener -------------------------------------------------------------------------------------
    def on_start(self, plan: dict[str, Any], system: dict[str, Any], t0_ns: int, t0_wall: float) -> None:
        """Record the plan, fingerprint and clock origin."""
        with self._lock:
            self.plan, self.system, self.t0_ns, self.t0_wall = dict(plan), dict(system), int(t0_ns), t0_wall
            self._end_ns = max(self._end_ns, self.t0_ns)
            roles = plan_roles(plan)
            for b in plan.get("backends", []) or []:
                label = b.get("label") if isinstance(b, dict) else None
                if label and label not in self._infos:
                    mine, twin_of = roles.get(label, ([], None))
                    self._infos[label] = BackendInfo(
                        label,
                        b.get("backend", label),
                        dict(b.get("options", {})),
                        roles=list(mine),
                        twin_of=twin_of,
                    )

    def on_backend(self, info: BackendInfo) -> None:
        """Keep a copy of the latest info of a backend."""
        copy = replace(
            info,
            options=dict(info.options),
            degraded_reasons=list(info.degraded_reasons),
            providers=list(info.providers),
            versions=dict(info.versions),
        )
        with self._lock:
            self._infos[info.label] = copy

    def on_samples(self, block: SampleBlock) -> None:
        """Append a block (arrays are kept, not copied: senders must not reuse them)."""
        n = len(block)
        if n == 0:
            return
        code = PHASE_CODES.get(block.phase, 1)
        start = np.asarray(block.start_ns, dtype=np.int64)
        dur = np.asarray(block.dur_ns, dtype=np.int64)
        idx = (
            np.asarray(block.input_idx, dtype=np.int32)
            if block.input_idx is not None
            else np.zeros(n, np.int32)
        )
        ex = None
        if block.parts or block.tokens is not None:
            ex = extras.of_block(n, block.parts, block.tokens, block.token_counts)
        chunk = _Chunk(start, dur, np.full(n, code, np.uint8), idx, ex)
        with self._lock:
            series = self._series.get(block.backend)
            if series is None:
                series = self._series[block.backend] = _Series()
            series.append(chunk, code)
            self._end_ns = max(self._end_ns, series.last_end)

    def on_monitor(self, readings: list[MonitorReading]) -> None:
        """Append every metric of every reading."""
        with self._lock:
            for r in readings:
                t = int(r.t_ns)
                for name, value in r.values.items():
                    ts = self._metric_t.get(name)
                    if ts is None:
                        ts = self._metric_t[name] = []
                        self._metric_v[name] = []
                    vs = self._metric_v[name]
                    if ts and t < ts[-1]:
                        i = bisect.bisect_right(ts, t)
                        ts.insert(i, t)
                        vs.insert(i, value)
                    else:
                        ts.append(t)
                        vs.append(value)
                self._end_ns = max(self._end_ns, t)

    def on_event(self, event: RunEvent) -> None:
        """Insert an event in time order."""
        with self._lock:
            i = bisect.bisect_right(self._event_t, event.t_ns)
            self._event_t.insert(i, event.t_ns)
            self._events.insert(i, event)
            self._end_ns = max(self._end_ns, int(event.t_ns))

    def on_turn(self, turn: TurnRecord) -> None:
        """Keep a finished turn."""
        with self._lock:
            self._turns.setdefault(turn.backend, []).append(turn)

    def on_finish(self, outcome: str) -> None:
        """Remember how the run ended."""
        with self._lock:
            self._outcome = outcome

    # ---- RunData -----------------------------------------------------------------------------------------
    def backend_infos(self) -> dict[str, BackendInfo]:
        """Label → latest BackendInfo (copies), plan order first, then labels seen only in data."""
        with self._lock:
            labels = list(self._infos) + [k for k in self._series if k not in self._infos]
            out = {}
            for label in labels:
                info = self._infos.get(label) or BackendInfo(label, label, {})
                out[label] = replace(
                    info,
                    options=dict(info.options),
                    degraded_reasons=list(info.degraded_reasons),
                    roles=list(info.roles),
                )
            return attach_roles(out, self.plan)

    def end_ns(self) -> int:
        """Latest timestamp recorded (sample end, monitor or event time)."""
        with self._lock:
            return max(self._end_ns, self.t0_ns)

    def samples(
        self, label: str, t0_ns: int | None = None, t1_ns: int | None = None, phase: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(start_ns, dur_ns) of `label`'s calls starting in [t0_ns, t1_ns), optionally of one phase."""
        code = None if phase is None else PHASE_CODES.get(phase, -1)
        with self._lock:
            series = self._series.get(label)
            if series is None:
                return np.empty(0, np.int64), np.empty(0, np.int64)
            return series.query(t0_ns, t1_ns, code)

    def parts(self, label: str, phase: str | None = "measure") -> dict[str, np.ndarray]:
        """Part name → int64 ns per call of `label` (aligned with `samples` of that phase); {} without parts."""
        hit = self._extras(label, phase)
        return {} if hit is None else dict(hit[1].parts)

    def tokens(self, label: str, phase: str | None = "measure") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(call start_ns, token count per call, flat stamps) of `label`'s calls; empty without tokens."""
        hit = self._extras(label, phase)
        if hit is None:
            return extras.tokens_of(np.empty(0, np.int64), extras.Extras(0))
        return extras.tokens_of(*hit)

    def _extras(self, label: str, phase: str | None) -> tuple[np.ndarray, extras.Extras] | None:
        code = None if phase is None else PHASE_CODES.get(phase, -1)
        with self._lock:
            series = self._series.get(label)
            return None if series is None else series.extras(code)

    def turns(self, label: str, phase: str | None = "measure") -> TurnArrays:
        """(start_ns, end_ns, calls, busy_ns) int64 of `label`'s turns in `phase` (None: all), by start."""
        with self._lock:
            rows = self._turns.get(label, [])
            hit = self._turn_cache.get((label, phase))
            if hit is not None and hit[0] == len(rows):
                return hit[1]
            out = turn_arrays(
                [
                    (t.start_ns, t.end_ns, t.calls, t.busy_ns)
                    for t in rows
                    if phase is None or t.phase == phase
                ]
            )
            self._turn_cache[(label, phase)] = (len(rows), out)
            return out

    def sample_count(self, label: str, phase: str | None = None) -> int:
        """Number of calls of `label` so far (O(1))."""
        with self._lock:
            series = self._series.get(label)
            if series is None:
                return 0
            return sum(series.count) if phase is None else series.count[PHASE_CODES.get(phase, 1)]

    def metrics(self) -> list[str]:
        """Names of all monitor metrics seen."""
        with self._lock:
            return list(self._metric_t)

    def monitor_series(
        self, metric: str, t0_ns: int | None = None, t1_ns: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(t_ns, value) of one metric in [t0_ns, t1_ns); NaN for unreadable or non-numeric values."""
        with self._lock:
            ts = self._metric_t.get(metric)
            if not ts:
                return np.empty(0, np.int64), np.empty(0, np.float64)
            hit = self._metric_cache.get(metric)
            if hit is None or hit[0] != len(ts):
                hit = (
                    len(ts),
                    (np.asarray(ts, np.int64), np.array([_num(v) for v in self._metric_v[metric]])),
                )
                self._metric_cache[metric] = hit
            t, v = hit[1]
        lo = 0 if t0_ns is None else int(np.searchsorted(t, t0_ns, "left"))
        hi = t.size if t1_ns is None else int(np.searchsorted(t, t1_ns, "left"))
        return t[lo:hi], v[lo:hi]

    def monitor_latest(self, t_ns: int) -> dict[str, float | str | None]:
        """The latest value of every metric at or before `t_ns`."""
        out: dict[str, float | str | None] = {}
        with self._lock:
            for name, ts in self._metric_t.items():
                i = bisect.bisect_right(ts, t_ns)
                if i:
                    out[name] = self._metric_v[name][i - 1]
        return out

    def events(self, t0_ns: int | None = None, t1_ns: int | None = None) -> list[RunEvent]:
        """Events with t in [t0_ns, t1_ns), by time."""
        with self._lock:
            lo = 0 if t0_ns is None else bisect.bisect_left(self._event_t, t0_ns)
            hi = len(self._events) if t1_ns is None else bisect.bisect_left(self._event_t, t1_ns)
            return self._events[lo:hi]

    def outcome(self) -> str | None:
        """``complete`` | ``interrupted`` | ``failed``, or None while running."""
        with self._lock:
            return self._outcome


def _num(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(float(v)) or isinstance(v, float) else math.nan
    return math.nan
