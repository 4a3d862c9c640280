"""Samples as the engine worker produces them, with the true turns: a model of worker.py's timed loop.

A turn: the worker reads its clock (the turn's begin), then runs blocks: each block reads the clock (its flush
instant is that + FLUSH_NS), calls the engine back to back until a call ends at or after the flush instant or
MAX_BLOCK calls were made, then ships the block (an idle "flush" gap). The turn ends after the first block
whose last call ended at or after begin + block_s. Between turns the backend idles (the scheduler's round
trip, or other backends' turns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from infbench.engines.worker import FLUSH_NS, MAX_BLOCK

Draw = Callable[[np.random.Generator, int], np.ndarray]


@dataclass
class Engine:
    """How one simulated backend behaves: call durations, loop gaps and flush gaps (ns)."""

    call: Draw
    loop_gap: Draw
    flush_gap: Callable[[np.random.Generator, int], int]  # (rng, calls in the block) -> idle ns
    preempt_p: float = 0.0  # chance that a loop gap is a preemption instead
    preempt_ns: tuple[int, int] = (200_000, 5_000_000)


@dataclass
class Turns:
    """The simulated calls (by start) and, for every turn, its true begin/end and call range."""

    start: list[np.ndarray] = field(default_factory=list)
    dur: list[np.ndarray] = field(default_factory=list)
    turns: list[tuple[int, int, int, int]] = field(default_factory=list)  # begin, end, calls, busy
    t: int = 10**12

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All calls as (start_ns, dur_ns)."""
        return np.concatenate(self.start), np.concatenate(self.dur)

    def truth(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """True turns as (begin_ns, end_ns, calls, busy_ns)."""
        a = np.array(self.turns, np.int64).reshape(-1, 4)
        return a[:, 0], a[:, 1], a[:, 2], a[:, 3]


def _block(rng: np.random.Generator, eng: Engine, t: int, flush_at: int) -> tuple[np.ndarray, np.ndarray]:
    """Calls from `t` until one ends at or after `flush_at` or MAX_BLOCK calls: (start, dur)."""
    starts, durs, made = [], [], 0
    while True:
        k = min(MAX_BLOCK - made, 4096 if not starts else 8 * sum(x.size for x in starts))
        d = eng.call(rng, k).astype(np.int64)
        g = eng.loop_gap(rng, k).astype(np.int64)
        if eng.preempt_p:
            hit = rng.random(k) < eng.preempt_p
            g[hit] = rng.integers(*eng.preempt_ns, int(hit.sum()))
        g[0] = 0
        s = t + np.cumsum(g) + np.concatenate([[0], np.cumsum(d)[:-1]])
        e = s + d
        done = np.flatnonzero(e >= flush_at)
        stop = int(done[0]) + 1 if done.size else k
        if made + stop >= MAX_BLOCK:
            stop = MAX_BLOCK - made
        starts.append(s[:stop])
        durs.append(d[:stop])
        made += stop
        t = int(e[stop - 1]) + int(rng.integers(50, 200))
        if done.size or made >= MAX_BLOCK:
            return np.concatenate(starts), np.concatenate(durs)


def run_turn(rng: np.random.Generator, eng: Engine, sim: Turns, block_s: float) -> None:
    """Append one turn at `sim.t` and advance `sim.t` to its end."""
    begin = sim.t
    deadline = begin + int(block_s * 1e9)
    t = begin + int(rng.integers(1_000, 5_000))  # set-up before the first block
    first = len(sim.start)
    while True:
        flush_at = t + FLUSH_NS
        t += int(rng.integers(100, 3_000))  # clock read to first call
        s, d = _block(rng, eng, t, flush_at)
        sim.start.append(s)
        sim.dur.append(d)
        last_end = int(s[-1] + d[-1])
        t = last_end + eng.flush_gap(rng, s.size)
        if last_end >= deadline:
            break
    calls = sum(x.size for x in sim.start[first:])
    busy = int(sum(int(x.sum()) for x in sim.dur[first:]))
    sim.turns.append((begin, t, calls, busy))
    sim.t = t


def simulate(
    rng: np.random.Generator,
    eng: Engine,
    n_turns: int,
    block_s: float,
    idle: Callable[[np.random.Generator, int], int],
) -> Turns:
    """`n_turns` turns of one backend; `idle(rng, k)` is the idle time after turn k (round trip or others)."""
    sim = Turns()
    for k in range(n_turns):
        run_turn(rng, eng, sim, block_s)
        sim.t += idle(rng, k)
    return sim


def uniform(lo: float, hi: float) -> Draw:
    """Draw integers uniformly in [lo, hi)."""
    return lambda rng, n: rng.integers(int(lo), int(hi), n)


def lognormal(median_ns: float, sigma: float = 0.1) -> Draw:
    """Lognormal call durations around `median_ns`."""
    return lambda rng, n: (median_ns * rng.lognormal(0, sigma, n)).astype(np.int64)
