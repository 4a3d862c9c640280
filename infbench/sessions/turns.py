"""Turns of one backend inferred from its samples alone, for sessions that did not record them (schema 1).

How the worker runs a turn (infbench/engines/worker.py, unchanged since schema 1): on a ``run`` command it
calls the engine back to back and ships the calls made so far as one *block* once a call ends at least
`FLUSH_NS` after the block's first call began, or after `MAX_BLOCK` calls; shipping leaves an idle gap. After
a block whose last call ended at least ``block_s`` after the turn began, the turn ends. The worker then idles
until its next turn: whole turns of the other backends in the interleaved schedule, or only the
``done``/``run`` round trip (~0.1–1 ms) when it runs alone.

Measured on real runs, gap sizes alone cannot tell the end of a turn from an in-turn flush when a backend
runs alone: the null engine's in-turn flush gaps (~25–40 ms, 200 000 calls shipped) are often *longer* than its
gaps between turns, and a 7 ms engine's are about as long (~0.7–1 ms). So `infer_turns` replays the worker's
schedule over the samples, with gap `i` the idle time between the end of call `i` and the start of call
`i + 1` (calls sorted by start):

1. A gap of at least ``BREAK_SHARE * block_s`` always ends a turn (other backends ran, or the run was
   paused): gaps inside a turn stay well below it (the longest seen, null-engine flushes on a loaded
   2-core machine, ~75 ms).
2. Otherwise, from a turn's first call `f`, the blocks are replayed: a block starting with call `b` ends at
   the first call whose end is at least ``start[b] + FLUSH_NS`` (or at call ``b + MAX_BLOCK - 1``), snapped
   to the largest gap among the calls ending in the `SNAP_NS` before that instant (the worker read its clock
   just before call `b` started, so it flushes at most a few calls earlier; the real flush gap is much longer
   than the gaps between calls around it). The turn ends after the first block whose last call ended at
   least ``block_s - EPS_NS`` after ``start[f]``.
3. The calls after the last cut form the last turn (also when it was cut short by a stop).

An inferred turn spans its first call's start to its last call's end, so it is slightly narrower than the
recorded one (which includes the worker's set-up and its last flush); `calls` and `busy_ns` are exact when
the cuts are. It is approximate: a worker preempted for longer than `SNAP_NS` (or `EPS_NS` at a turn's
start) between reading its clock and its next call, or an idle gap near a flush longer than the flush
itself, moves a cut; a turn cut short and at once followed by the same backend's next turn is merged with
it; a sequence written by anything other than the worker (synthetic data) is cut into pieces of about
``block_s`` (and at its gaps of rule 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from infbench.engines.worker import FLUSH_NS, MAX_BLOCK

BREAK_SHARE = 1.0  # an idle gap of a whole turn or more always separates turns
SNAP_NS = 20_000  # a flush may come this much before the predicted instant (clock read before the call)
EPS_NS = 20_000  # a turn's deadline may fall this much before its first call's start + block_s

TurnArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def turn_arrays(rows: Sequence[tuple[int, int, int, int]] | np.ndarray) -> TurnArrays:
    """(start_ns, end_ns, calls, busy_ns) rows → four read-only int64 arrays sorted by start (stable)."""
    a = np.array(rows, np.int64).reshape(-1, 4)
    if a.shape[0] > 1 and np.any(a[1:, 0] < a[:-1, 0]):
        a = a[np.argsort(a[:, 0], kind="stable")]
    cols = tuple(np.ascontiguousarray(a[:, k]) for k in range(4))
    for c in cols:
        c.flags.writeable = False
    return cols  # type: ignore[return-value]


def whole_turn(start_ns: np.ndarray, dur_ns: np.ndarray) -> TurnArrays:
    """All the calls as one turn (none when there are no calls): a warm-up, which the runner runs in one turn."""
    s = np.asarray(start_ns, np.int64)
    d = np.asarray(dur_ns, np.int64)
    if s.size == 0:
        return turn_arrays([])
    return turn_arrays([(int(s.min()), int((s + d).max()), s.size, int(d.sum()))])


def infer_turns(start_ns: np.ndarray, dur_ns: np.ndarray, block_s: float) -> TurnArrays:
    """Turns of one backend's calls in one phase, inferred by replaying the worker's schedule (module doc).

    Args:
        start_ns: perf_counter_ns at the start of each call (any order; sorted here).
        dur_ns: duration of each call, ns (>= 0).
        block_s: the run's turn length (``plan.block_s``), > 0.

    Returns:
        (start_ns, end_ns, calls, busy_ns) int64 arrays, one entry per turn, by start: the first call's start,
        the last call's end, the number of calls and the sum of their durations. Every call is in exactly one
        turn.
    """
    if not block_s > 0:
        raise ValueError(f"block_s must be positive, got {block_s}")
    s = np.asarray(start_ns, np.int64)
    d = np.asarray(dur_ns, np.int64)
    if s.shape != d.shape or s.ndim != 1:
        raise ValueError("start_ns and dur_ns must be 1-d arrays of the same length")
    if s.size == 0:
        return turn_arrays([])
    if s.size > 1 and np.any(s[1:] < s[:-1]):
        order = np.argsort(s, kind="stable")
        s, d = s[order], d[order]
    cuts = _Replay(s, d, int(block_s * 1e9)).cuts()
    first = np.concatenate([[0], cuts + 1]).astype(np.int64)
    last = np.concatenate([cuts, [s.size - 1]]).astype(np.int64)
    reach = np.maximum.accumulate(s + d)
    busy = np.add.reduceat(d, first)
    return turn_arrays(np.stack([s[first], reach[last], last - first + 1, busy], axis=1))


class _Replay:
    """The worker's block and turn schedule replayed over sorted calls (rules 1 and 2 of the module doc)."""

    def __init__(self, s: np.ndarray, d: np.ndarray, block_ns: int) -> None:
        self.s, self.n, self.block_ns = s, s.size, block_ns
        end = s + d
        self.reach = np.maximum.accumulate(end)  # monotone even if calls overlap, so searchsorted works
        self.gap = s[1:] - end[:-1]
        self.breaks = np.flatnonzero(self.gap >= int(BREAK_SHARE * block_ns))

    def cuts(self) -> np.ndarray:
        """Index of the last call of every turn but the last."""
        out: list[int] = []
        first = 0
        while first < self.n - 1:
            nb = int(np.searchsorted(self.breaks, first, "left"))
            stop = int(self.breaks[nb]) if nb < self.breaks.size else self.n - 1
            cut = self._turn_end(first, stop)
            if cut >= self.n - 1:
                break
            out.append(cut)
            first = cut + 1
        return np.asarray(out, np.int64)

    def _turn_end(self, first: int, stop: int) -> int:
        """Last call of the turn beginning with call `first`; `stop` (a break, or the last call) at the latest."""
        due = int(self.s[first]) + self.block_ns - EPS_NS
        b = first
        while True:
            j = self._flush(b)
            if j >= stop:
                return stop
            if int(self.reach[j]) >= due:
                return j
            b = j + 1

    def _flush(self, b: int) -> int:
        """Last call of the block beginning with call `b`."""
        t = int(self.s[b]) + FLUSH_NS
        j = min(int(np.searchsorted(self.reach, t, "left")), b + MAX_BLOCK - 1, self.n - 1)
        if j == b + MAX_BLOCK - 1 or j >= self.n - 1:
            return j
        lo = max(int(np.searchsorted(self.reach, t - SNAP_NS, "left")), b)
        return lo + int(np.argmax(self.gap[lo : j + 1])) if j > lo else j
