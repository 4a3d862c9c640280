"""Immutable snapshots of a run at an instant, built incrementally from any `RunData` (live store or reader).

The TUI renders only `Snapshot` objects, so live and replay share one code path. No Textual here.
Live statistics come from log-spaced histogram counts (~1 % wide buckets, updated with `np.add.at`), so a
10–20 Hz tick stays cheap at 100k+ calls/s; when the instant reaches the end of a finished run, the exact
statistics of `report` replace them. Each backend's status is the one the runner recorded: live the latest,
in a replay the row the session stored at or before the instant shown.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from infbench.analysis.contention import every_core_warning
from infbench.analysis.generation import is_generate, read_tokens
from infbench.records import PHASE_MEASURE, PHASE_WARMUP, RunEvent
from infbench.sessions.data import RunData
from infbench.tui.buckets import (  # noqa: F401 (bucket helpers re-exported: widgets and tests import them here)
    LOG_BASE,
    MIN_NS,
    N_BUCKETS,
    bucket_mid_ms,
    bucket_of,
    hist_quantiles,
)
from infbench.tui.gen_snap import GenAcc, GenSnap, final_generation
from infbench.vocab import EventKind, Role, Status

BLOCK_S = 0.5
_EMPTY = np.empty(0, np.int64)
RECENT_EVENTS = 200


def status_text(status: str) -> str:
    """The words for a backend status (`vocab.Status.text`); a status this version does not know, as stored."""
    try:
        return Status(status).text
    except ValueError:
        return status


def load_phase(info: Any) -> tuple[str | None, int | None]:
    """The load phase a backend reports while loading (``import``, ``export``, ``compile``…) and when it
    began (perf_counter_ns), or (None, None) when the runner reports none.

    Read defensively: ``info.load_phase`` / ``info.load_phase_t_ns`` attributes, or ``phase`` / ``phase_t_ns``
    in an ``info.details`` dict, whichever the runner provides.
    """
    details = getattr(info, "details", None)
    details = details if isinstance(details, dict) else {}
    phase = getattr(info, "load_phase", None) or details.get("load_phase") or details.get("phase")
    since = getattr(info, "load_phase_t_ns", None)
    if since is None:
        since = details.get("load_phase_t_ns", details.get("phase_t_ns"))
    ok = isinstance(since, int) and not isinstance(since, bool)
    return (str(phase) if phase else None), (since if ok else None)


def loading_text(elapsed_s: float | None, phase: str | None, phase_s: float | None) -> str:
    """``loading… 3.2 s``, ``loading: compile 1.2 s (3.2 s in all)``; plain ``loading…`` without a time."""
    if phase:
        if phase_s is not None:
            tail = (
                f" ({elapsed_s:.1f} s in all)"
                if elapsed_s is not None and elapsed_s - phase_s >= 0.05
                else ""
            )
            return f"loading: {phase} {phase_s:.1f} s{tail}"
        return f"loading: {phase}…" + (f" {elapsed_s:.1f} s" if elapsed_s is not None else "")
    return "loading…" + (f" {elapsed_s:.1f} s" if elapsed_s is not None else "")


@dataclass(frozen=True, eq=False)
class BackendSnap:
    """One backend at an instant: status, running (or final exact) stats, histogram and timeline."""

    label: str
    backend: str
    status: str
    status_text: str
    error: str | None
    degraded: tuple[str, ...]
    count: int
    warmup_count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    cv: float
    throughput: float
    rel_to_fastest: float | None
    hist: np.ndarray
    tl_t: np.ndarray
    tl_med: np.ndarray
    tl_max: np.ndarray
    spikes: tuple[float, ...]
    final: bool
    load_ms: float | None
    first_inference_ms: float | None
    load_elapsed_s: float | None = None
    """While loading: seconds since the backend began loading (None when unknown)."""
    load_phase: str | None = None
    """While loading: the phase the runner reports (import, export, compile…), if it reports one."""
    roles: tuple[str, ...] = ()
    """The variant's `vocab.Role` values (``control``, ``aa-twin``), as recorded with it."""
    twin_of: str | None = None
    """For an A/A twin: the label of the variant it repeats."""
    rel_to_original: float | None = None
    """For an A/A twin: its p50 / its original's p50 (the machine's own noise band), when both have calls."""
    numerics: str | None = None
    """What the engine reported it computes with once loaded: ``f32``, ``int8``, ``bf16 · compiled``… (None before)."""
    generation: GenSnap | None = None
    """A generating variant (``--task generate``): TTFT and ITL histograms, tokens/s timeline (None otherwise)."""

    @property
    def is_control(self) -> bool:
        """A harness control (the null engine): shown, never fastest, no comparison."""
        return Role.CONTROL in self.roles

    @property
    def is_twin(self) -> bool:
        """An A/A twin: a second run of `twin_of`, never a competitor for fastest."""
        return self.twin_of is not None or Role.AA_TWIN in self.roles

    @property
    def competes(self) -> bool:
        """Whether it may be called fastest (the report's rule): not a control, not a twin, not failed."""
        return not (self.is_control or self.is_twin) and self.status != Status.FAILED


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything the screen shows at `t_s` seconds after the run's t0."""

    t_s: float
    end_s: float
    model: str
    plan: dict[str, Any]
    outcome: str | None
    at_end: bool
    backends: tuple[BackendSnap, ...]
    monitor: dict[str, Any]
    events: tuple[RunEvent, ...]
    throttle_active: bool
    throttle_spans: tuple[tuple[float, float | None], ...]
    unavailable: dict[str, str]
    t0_wall: float = 0.0
    t0_ns: int = 0
    marks: tuple[float, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())
    """Warnings about the run as a whole (a variant that uses every core): shown in the header, and as the
    first entries of `events` (kind ``log`` at t0), so live and replay show them alike."""


class _Acc:
    """Incremental per-backend accumulator: histogram counts, sums, and per-block (median, max) timeline.

    Block medians come from the block's own bucket counts (±0.5 %), so each tick costs O(new calls).
    """

    def __init__(self) -> None:
        self.cursor: int | None = None  # next start_ns to read (per backend, blocks arrive in order)
        self.hist = np.zeros(N_BUCKETS, dtype=np.int64)
        self.n = 0
        self.warm = 0
        self.sum = 0.0
        self.sumsq = 0.0
        self.busy_ns = 0
        self.blocks: dict[int, tuple[float, float]] = {}  # block index → (median ms, max ms)
        self.open_idx = -1
        self.open_hist = np.zeros(N_BUCKETS, dtype=np.int64)
        self.open_max = 0
        self.seen = {PHASE_MEASURE: -1, PHASE_WARMUP: -1}  # live: sample counts already read, per phase
        self.version = 0  # bumped by every add() with measured calls
        self.view: tuple | None = None  # (version, quantiles, hist copy, timeline arrays) shared by snapshots
        self.gen: GenAcc | None = None  # a generating variant's token stamps (`gen_snap`)

    def add(self, start: np.ndarray, dur: np.ndarray, n_warm: int, t0_ns: int) -> None:
        """Fold new measured calls (sorted by start) and a count of new warm-up calls into the accumulator."""
        self.warm += n_warm
        if start.size == 0:
            return
        self.version += 1
        idx = bucket_of(dur)
        self.hist += np.bincount(idx, minlength=N_BUCKETS)
        ms = dur.astype(np.float64) / 1e6
        self.n += int(dur.size)
        self.sum += float(ms.sum())
        self.sumsq += float((ms * ms).sum())
        self.busy_ns += int(dur.sum())
        blk = (start - t0_ns) // int(BLOCK_S * 1e9)
        cuts = np.flatnonzero(np.diff(blk)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, blk.size]):
            b = int(blk[lo])
            if b != self.open_idx:
                self.open_idx = b
                self.open_hist = np.zeros(N_BUCKETS, dtype=np.int64)
                self.open_max = 0
            self.open_hist += np.bincount(idx[lo:hi], minlength=N_BUCKETS)
            self.open_max = max(self.open_max, int(dur[lo:hi].max()))
            self.blocks[b] = (hist_quantiles(self.open_hist, (0.5,))[0], self.open_max / 1e6)


class SnapshotBuilder:
    """Builds `Snapshot`s of one `RunData` at increasing instants, incrementally; recomputes on rewind."""

    def __init__(
        self,
        data: RunData,
        session: str = "",
        *,
        inline_final: bool = True,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        """`inline_final` False: the exact final statistics appear only after `prepare_final()` (which may be
        called from a worker thread, as it sorts every sample). `clock` (perf_counter_ns) times what is
        loading in a live build (`build(None)`); a replay uses the instant it shows."""
        self.data = data
        self.session = session
        self.inline_final = inline_final
        self.clock = clock
        self._final: dict[str, dict[str, Any]] | None = None
        self._load_began: dict[str, int] = {}  # label → perf_counter_ns its loading began (a recorded fact)
        try:
            self._infos_at = "at_ns" in inspect.signature(data.backend_infos).parameters
        except (TypeError, ValueError):
            self._infos_at = False
        self._live = False  # whether the build in progress is a live one (`build(None)`)
        self._notes: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # (loaded labels, notes)
        self._reset()

    def _reset(self) -> None:
        self._t = -1
        self._accs: dict[str, _Acc] = {}
        self._events: list[RunEvent] = []
        self._derived_n = -1  # number of events the cached event-derived fields below were computed from
        self._derived: tuple = ()

    def _samples(
        self, label: str, acc: _Acc, lo: int | None, upto: int | None, phase: str, count: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """New calls of one phase since the cursor; live, skips the query when the store's count has not moved
        (a waiting backend costs nothing, and the store need not concatenate its recent chunks)."""
        if count is not None:
            n = int(count(label, phase))
            if n == acc.seen[phase]:
                return _EMPTY, _EMPTY
            # Counted before the query: calls landing in between are fetched now or next time.
            acc.seen[phase] = n
        return self.data.samples(label, lo, upto, phase)

    def build(self, t_ns: int | None = None) -> Snapshot:
        """The snapshot at `t_ns` (perf_counter_ns; None: everything recorded so far)."""
        data = self.data
        end = data.end_ns()
        t = end if t_ns is None else min(int(t_ns), end)
        t0 = data.t0_ns
        if t + 1 < self._t:  # a rewind (the same instant again, e.g. a paused replay, is no rewind)
            self._reset()
        upto = None if t_ns is None else t + 1
        recorded = self._recorded_infos(t, t_ns is None or t >= end)
        infos = recorded if recorded is not None else data.backend_infos()  # the same labels, in plan order
        self._live = t_ns is None
        count = getattr(data, "sample_count", None) if t_ns is None else None
        generate = is_generate(data.plan)
        for label in infos:
            acc = self._accs.setdefault(label, _Acc())
            lo = acc.cursor
            m_start, m_dur = self._samples(label, acc, lo, upto, PHASE_MEASURE, count)
            w_start, _ = self._samples(label, acc, lo, upto, PHASE_WARMUP, count)
            last = max(int(m_start[-1]) if m_start.size else -1, int(w_start[-1]) if w_start.size else -1)
            acc.add(np.asarray(m_start, np.int64), np.asarray(m_dur, np.int64), int(w_start.size), t0)
            if m_start.size and generate:
                self._tokens(label, infos[label], acc, upto, t0)
            if last >= 0:
                acc.cursor = last + 1
        if t_ns is None:  # live: events from several threads may land slightly out of order; re-read
            self._events = list(data.events(None, None))
        else:
            self._events.extend(data.events(None if self._t < 0 else self._t, t + 1))
        self._t = t + 1
        outcome = data.outcome()
        at_end = outcome is not None and t >= end
        final = None
        if at_end:
            final = self._final if self._final is not None or not self.inline_final else self.prepare_final()
        spikes, spans, active, unavailable, marks, recent = self._from_events(t0)
        notes = self._run_notes(infos)
        if notes:
            recent = tuple(RunEvent(t0, EventKind.LOG, note) for note in notes) + recent
        now = self.clock() if t_ns is None else t
        snaps = [
            self._backend(label, info, t, now, final, spikes.get(label, ()), recorded is not None)
            for label, info in infos.items()
        ]
        snaps = _with_relative(snaps)
        plan = dict(data.plan or {})
        return Snapshot(
            t_s=(t - t0) / 1e9,
            end_s=(end - t0) / 1e9,
            model=str(plan.get("model", "?")),
            plan=plan,
            outcome=outcome if at_end else None,
            at_end=at_end,
            backends=tuple(snaps),
            monitor=dict(data.monitor_latest(t)),
            events=recent,
            throttle_active=active,
            throttle_spans=spans,
            unavailable=unavailable,
            t0_wall=float(getattr(data, "t0_wall", 0.0) or 0.0),
            t0_ns=t0,
            marks=marks,
            notes=notes,
        )

    def _tokens(self, label: str, info: Any, acc: _Acc, upto: int | None, t0: int) -> None:
        """Fold `label`'s new generating requests (read only when it got new measured calls)."""
        start, counts, stamps = read_tokens(self.data, label, PHASE_MEASURE)
        if not counts.size:
            return
        if acc.gen is None:
            batch = (self.data.plan.get("workload") or {}).get("batch", 1)
            acc.gen = GenAcc(int((info.options or {}).get("batch", batch) or 1), BLOCK_S)
        acc.gen.add(start, counts, stamps, upto, t0)

    def _from_events(self, t0: int) -> tuple:
        """Spikes per backend, throttle spans and state, sensor notices, marks and the recent events: walked
        over every event only when the event list grew (events are only ever added; a rewind resets)."""
        if len(self._events) != self._derived_n:
            ev = self._events
            spikes: dict[str, list[float]] = {}
            for e in ev:
                if e.kind == EventKind.SPIKE and e.backend:
                    spikes.setdefault(e.backend, []).append((e.t_ns - t0) / 1e9)
            spans, active = self._throttle(t0)
            self._derived = (
                {k: tuple(v) for k, v in spikes.items()},
                spans,
                active,
                self._unavailable(),
                tuple((e.t_ns - t0) / 1e9 for e in ev if e.kind == EventKind.MARK),
                tuple(ev[-RECENT_EVENTS:]),
            )
            self._derived_n = len(ev)
        spikes_, spans_, active_, unavailable_, marks_, recent_ = self._derived
        return spikes_, spans_, active_, dict(unavailable_), marks_, recent_

    def _run_notes(self, infos: dict[str, Any]) -> tuple[str, ...]:
        """The every-core warning of `analysis.contention` for the plan and the infos (what engines reported
        after loading refines it), recomputed only when the set of loaded backends changes."""
        loaded = tuple(
            label
            for label, info in infos.items()
            if Status.parse(info.status) not in (Status.PENDING, Status.LOADING)
        )
        if self._notes is None or self._notes[0] != loaded:
            system = getattr(self.data, "system", None)
            self._notes = (loaded, tuple(every_core_warning(self.data.plan or {}, system, infos)))
        return self._notes[1]

    def _recorded_infos(self, t: int, live_edge: bool) -> dict[str, Any] | None:
        """The backend infos as recorded at `t`: for each backend the latest row stored at or before `t` (a
        session file stamps every info update, so a replay shows the status the runner set then); None at the
        live edge or when the data keeps only the latest infos (which are then shown as they are)."""
        if live_edge or not self._infos_at:
            return None
        return self.data.backend_infos(at_ns=t)  # type: ignore[call-arg]

    def _loading_began(self, label: str, t: int, now: int, recorded: bool) -> int | None:
        """When `label` began loading (perf_counter_ns), or None when that is not known.

        Live: the first build that saw it loading. Replay of a file: the first recorded info past "pending"
        (found by bisection on the recorded infos, once per backend).
        """
        began = self._load_began.get(label)
        if began is not None:
            return began
        if self._live:
            self._load_began[label] = now
            return now
        if not recorded:
            return None  # a replay of data without a recorded history cannot tell when loading began

        def started(x: int) -> bool:
            info = self.data.backend_infos(at_ns=x).get(label)  # type: ignore[call-arg]
            return info is not None and info.status != Status.PENDING

        lo, hi = self.data.t0_ns - 1, t  # started(lo) is False (nothing before t0), started(hi) is True
        while hi - lo > 1_000_000:  # to the millisecond
            mid = (lo + hi) // 2
            if started(mid):
                hi = mid
            else:
                lo = mid
        self._load_began[label] = hi
        return hi

    def _backend(
        self,
        label: str,
        info: Any,
        t: int,
        now: int,
        final: dict | None,
        spikes: tuple[float, ...],
        recorded: bool = False,
    ) -> BackendSnap:
        acc = self._accs[label]
        if acc.view is None or acc.view[0] != acc.version:  # only a backend that got new calls is recomputed
            idx = np.fromiter(acc.blocks.keys(), dtype=np.int64, count=len(acc.blocks))
            vals = np.array(list(acc.blocks.values()), dtype=np.float64).reshape(-1, 2)
            order = np.argsort(idx)
            acc.view = (
                acc.version,
                hist_quantiles(acc.hist, (0.5, 0.95, 0.99)),
                acc.hist.copy(),
                idx[order] * BLOCK_S,
                vals[order, 0],
                vals[order, 1],
            )
        _, (p50, p95, p99), hist, tl_t, tl_med, tl_max = acc.view
        n = acc.n
        mean = acc.sum / n if n else math.nan
        var = (acc.sumsq - n * mean * mean) / (n - 1) if n > 1 else 0.0
        cv = math.sqrt(max(var, 0.0)) / mean if n > 1 and mean > 0 else math.nan
        thr = n / (acc.busy_ns / 1e9) if acc.busy_ns else math.nan
        f = (final or {}).get(label)
        if f:
            p50, p95, p99, mean, cv, thr, n = (
                f["median"],
                f["p95"],
                f["p99"],
                f["mean"],
                f["cv"],
                f["throughput"],
                int(f["count"]),
            )
        status = str(info.status)  # as recorded at `t`: replay reads the session's status rows, never infers
        text = status_text(status)
        elapsed = phase = None
        if status == Status.FAILED:
            text = f"crashed: {info.error or 'unknown error'}"
        elif status == Status.LOADING:
            began = self._loading_began(label, t, now, recorded)
            elapsed = max(now - began, 0) / 1e9 if began is not None else None
            phase, since = load_phase(info)
            phase_s = max(now - since, 0) / 1e9 if since is not None else None
            text = loading_text(elapsed, phase, phase_s)
        return BackendSnap(
            label=label,
            backend=info.backend,
            status=status,
            status_text=text,
            error=info.error,
            degraded=tuple(info.degraded_reasons or ()),
            count=n,
            warmup_count=acc.warm,
            p50_ms=p50,
            p95_ms=p95,
            p99_ms=p99,
            mean_ms=mean,
            cv=cv,
            throughput=thr,
            rel_to_fastest=None,
            hist=hist,
            tl_t=tl_t,
            tl_med=tl_med,
            tl_max=tl_max,
            spikes=spikes,
            final=bool(f),
            load_ms=info.load_ms,
            first_inference_ms=info.first_inference_ms,
            load_elapsed_s=elapsed,
            load_phase=phase,
            roles=tuple(str(r) for r in getattr(info, "roles", None) or ()),
            twin_of=getattr(info, "twin_of", None),
            numerics=numerics_text(getattr(info, "details", None)),
            generation=acc.gen.snap(f.get("generation") if f else None) if acc.gen is not None else None,
        )

    def _throttle(self, t0: int) -> tuple[tuple[tuple[float, float | None], ...], bool]:
        """Throttle spans (start s, end s or None while on), one per signal episode, and whether any is on.

        Spans are keyed on the ``signal`` that `monitors/throttle.py` writes (``cpu_thermal``, ``cgroup``,
        ``gpu0``…), so overlapping signals give overlapping spans instead of one merged span.
        """
        spans: list[list[Any]] = []
        on: dict[str, float] = {}
        for e in self._events:
            key = str((e.data or {}).get("signal") or e.backend or "")
            if e.kind == EventKind.THROTTLE_ON and key not in on:
                on[key] = (e.t_ns - t0) / 1e9
            elif e.kind == EventKind.THROTTLE_OFF and key in on:
                spans.append([on.pop(key), (e.t_ns - t0) / 1e9])
        spans.extend([v, None] for v in on.values())
        return tuple((a, b) for a, b in sorted(spans, key=lambda s: s[0])), bool(on)

    def _unavailable(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self._events:
            # "group: [metric] unavailable: reason"
            if e.kind == EventKind.SENSOR and "unavailable" in e.message:
                head, _, reason = e.message.partition("unavailable")
                key = " ".join(head.replace(":", " ").split())
                out.setdefault(key, reason.lstrip(": ").strip() or "unavailable")
        return out

    @property
    def final_ready(self) -> bool:
        """Whether the exact final statistics have been computed."""
        return self._final is not None

    def prepare_final(self) -> dict[str, dict[str, Any]]:
        """Compute (once) the exact per-backend statistics of the finished run: the numbers of `report`."""
        if self._final is None:
            self._final = final_stats(self.data)
        return self._final


def final_stats(data: RunData) -> dict[str, dict[str, Any]]:
    """label → exact median/p95/p99/mean/cv/throughput/count: the numbers `report` prints."""
    from infbench.analysis.summary import backend_results

    out: dict[str, dict[str, Any]] = {}
    for label, r in backend_results(data).items():
        lat = r.latency
        if lat is not None:
            out[label] = {
                "median": lat.median,
                "p95": lat.p95,
                "p99": lat.p99,
                "mean": lat.mean,
                "cv": lat.cv,
                "throughput": lat.throughput_per_s,
                "count": r.iterations,
                "generation": final_generation(r),
            }
    return out


def _with_relative(snaps: list[BackendSnap]) -> list[BackendSnap]:
    """Fill `rel_to_fastest` as the report does (`analysis.summary`): p50 / the fastest competitor's p50,
    where a control, an A/A twin or a failed backend never competes; a control gets no ratio. An A/A twin also
    gets `rel_to_original`: its p50 / its original's (the noise band the report states)."""
    measured = {s.label: s for s in snaps if s.count and math.isfinite(s.p50_ms) and s.p50_ms > 0}
    real = [s for s in measured.values() if s.competes]
    best = min((s.p50_ms for s in real), default=None)
    out = []
    for s in snaps:
        if s.label not in measured or s.is_control:
            out.append(s)
            continue
        original = measured.get(s.twin_of) if s.twin_of else None
        out.append(
            replace(
                s,
                rel_to_fastest=s.p50_ms / best if best else None,
                rel_to_original=s.p50_ms / original.p50_ms if original is not None else None,
            )
        )
    return out


def numerics_text(details: Any) -> str | None:
    """The precision an engine reported in its load details, with its quantization and compilation: ``f32``,
    ``int8``, ``f32 · int8-weights``, ``f32 · compiled``; None when it reported none."""
    if not isinstance(details, dict) or not details.get("precision"):
        return None
    parts = [str(details["precision"])]
    quant = details.get("quant")
    if quant and quant != "none" and str(quant) != parts[0]:
        parts.append(str(quant))
    if details.get("compile") is True:
        parts.append("compiled")
    return " · ".join(parts)
