"""Per-block latency statistics: the unit every detector works on.

Per-sample detectors at 10 k samples/s false-alarm constantly and cost too much; blocks summarise the series
cheaply (one lexsort) and make the block median nearly normal, which the detectors rely on.

Two ways to form blocks:
- `call_blocks` (what the detectors use): groups of `k` consecutive calls, `k` chosen from the typical call
  time so that a block holds at least `MIN_BLOCK_NS` of work (`calls_per_block`): 100 calls at 1 ms, 10 at
  10 ms, one call per block from 100 ms up. Blocks adapt to the call rate, so a slow model is watched as
  closely as a fast one, and a throughput collapse cannot empty the blocks that would show it.
- `block_stats`: fixed time bins (warm-up search, tests).
Each block also carries ``cycle``: the mean of (call time + idle time before the call inside the same turn),
i.e. 1 / calls per second while the backend held the machine — the face of a slowdown that lands between calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BLOCK_NS = 100_000_000


@dataclass(frozen=True, init=False)
class BlockStats:
    """Statistics of the calls starting in each non-empty time block, in time order (durations in ns).

    Attributes:
        block_ns: block length.
        t0_ns: int64 start of each block (origin + k * block_ns).
        count: int64 number of calls starting in the block.
        median_ns, p90_ns, max_ns, mean_ns: float64 statistics of the durations of those calls.
        t1_ns: int64 end of each block (time bins: t0 + block_ns; call blocks: the last call's end).
        cycle_ns: float64 mean of (duration + in-turn idle gap before the call); equal to mean_ns when gaps
            are unknown.
    """

    block_ns: int
    t0_ns: np.ndarray
    count: np.ndarray
    median_ns: np.ndarray
    p90_ns: np.ndarray
    max_ns: np.ndarray
    mean_ns: np.ndarray
    t1_ns: np.ndarray
    cycle_ns: np.ndarray

    def __init__(
        self,
        block_ns: int,
        t0_ns: np.ndarray,
        count: np.ndarray,
        median_ns: np.ndarray,
        p90_ns: np.ndarray,
        max_ns: np.ndarray,
        mean_ns: np.ndarray,
        t1_ns: np.ndarray | None = None,
        cycle_ns: np.ndarray | None = None,
    ) -> None:
        """Store the arrays; `t1_ns` defaults to t0 + block_ns and `cycle_ns` to `mean_ns`."""
        # Written by hand (not generated) so that the optional arguments are filled in before storing: the
        # fields themselves are never None.
        if t1_ns is None:
            t1_ns = np.asarray(t0_ns, dtype=np.int64) + int(block_ns)
        if cycle_ns is None:
            cycle_ns = np.asarray(mean_ns, dtype=np.float64)
        for name, value in (
            ("block_ns", block_ns),
            ("t0_ns", t0_ns),
            ("count", count),
            ("median_ns", median_ns),
            ("p90_ns", p90_ns),
            ("max_ns", max_ns),
            ("mean_ns", mean_ns),
            ("t1_ns", t1_ns),
            ("cycle_ns", cycle_ns),
        ):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return int(self.t0_ns.shape[0])

    def stat(self, metric: str) -> np.ndarray:
        """The array for ``median``, ``p90``, ``max``, ``mean`` or ``cycle``."""
        return getattr(self, f"{metric}_ns")

    def select(self, index: np.ndarray | slice) -> BlockStats:
        """A subset of blocks (boolean mask, indices or slice)."""
        return BlockStats(
            self.block_ns,
            self.t0_ns[index],
            self.count[index],
            self.median_ns[index],
            self.p90_ns[index],
            self.max_ns[index],
            self.mean_ns[index],
            self.t1_ns[index],
            self.cycle_ns[index],
        )

    def since(self, t_ns: int) -> BlockStats:
        """Blocks starting at or after `t_ns` (for feeding only new blocks to an online detector)."""
        return self.select(slice(int(np.searchsorted(self.t0_ns, t_ns, side="left")), None))

    def to_dict(self) -> dict:
        """JSON-ready dict of lists."""
        return {
            "block_ns": int(self.block_ns),
            "t0_ns": self.t0_ns.tolist(),
            "count": self.count.tolist(),
            "median_ns": self.median_ns.tolist(),
            "p90_ns": self.p90_ns.tolist(),
            "max_ns": self.max_ns.tolist(),
            "mean_ns": self.mean_ns.tolist(),
            "t1_ns": self.t1_ns.tolist(),
            "cycle_ns": self.cycle_ns.tolist(),
        }


def empty_blocks(block_ns: int = DEFAULT_BLOCK_NS) -> BlockStats:
    """A BlockStats with no blocks."""
    f, i = np.empty(0, np.float64), np.empty(0, np.int64)
    return BlockStats(int(block_ns), i, i.copy(), f, f.copy(), f.copy(), f.copy())


def _interp(sorted_d: np.ndarray, start: np.ndarray, count: np.ndarray, q: float) -> np.ndarray:
    # Linear interpolation between order statistics, as np.percentile's default.
    pos = q * (count - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, count - 1)
    frac = pos - lo
    return sorted_d[start + lo] * (1.0 - frac) + sorted_d[start + hi] * frac


def block_stats(
    start_ns: np.ndarray, dur_ns: np.ndarray, block_ns: int = DEFAULT_BLOCK_NS, origin_ns: int = 0
) -> BlockStats:
    """Group calls into blocks of `block_ns` by start time (aligned to `origin_ns`) and summarise each block.

    Blocks are aligned to a fixed origin so that recomputing over a longer prefix gives the same blocks, which
    lets live callers feed only complete new blocks to online detectors. Empty blocks are left out.
    """
    s = np.asarray(start_ns, dtype=np.int64).ravel()
    d = np.asarray(dur_ns, dtype=np.float64).ravel()
    if s.shape != d.shape:
        raise ValueError("start_ns and dur_ns differ in length")
    if s.size == 0:
        return empty_blocks(block_ns)
    bid = (s - origin_ns) // int(block_ns)
    order = np.lexsort((d, bid))
    bid_sorted, d_sorted = bid[order], d[order]
    uniq, start = np.unique(bid_sorted, return_index=True)
    count = np.diff(np.append(start, bid_sorted.size))
    return BlockStats(
        block_ns=int(block_ns),
        t0_ns=(uniq * int(block_ns) + origin_ns).astype(np.int64),
        count=count.astype(np.int64),
        median_ns=_interp(d_sorted, start, count, 0.5),
        p90_ns=_interp(d_sorted, start, count, 0.9),
        max_ns=d_sorted[start + count - 1],
        mean_ns=np.add.reduceat(d_sorted, start) / count,
    )


MIN_BLOCK_NS = 100_000_000  # a block holds at least this much work…
MAX_CALLS_PER_BLOCK = 1_000_000  # …and calls beyond this add nothing but cost


def calls_per_block(typical_call_ns: float, min_block_ns: int = MIN_BLOCK_NS) -> int:
    """How many consecutive calls make one block: enough for `min_block_ns` of work, at least one.

    Slow calls (≥ `min_block_ns`) get one call per block, so per-call tests find slowdowns of multi-second
    calls; fast calls are grouped so each block median is stable.
    """
    if not np.isfinite(typical_call_ns) or typical_call_ns <= 0:
        return 1
    return int(min(MAX_CALLS_PER_BLOCK, max(1, round(min_block_ns / typical_call_ns))))


def in_turn_gaps(
    start_ns: np.ndarray,
    dur_ns: np.ndarray,
    turn_end_ns: np.ndarray | None,
    prev_end_ns: int | None = None,
    max_gap_ns: float | None = None,
) -> np.ndarray:
    """Idle time before each call while its backend held the machine (0 for the first call of a turn), ns.

    A gap spans a turn boundary when a recorded turn ended inside it (`turn_end_ns`, sorted). Without turns
    (`turn_end_ns` None), gaps longer than `max_gap_ns` are taken for turn boundaries. `prev_end_ns` is the end
    of the call just before `start_ns[0]`, when these calls continue an earlier series.
    """
    s = np.asarray(start_ns, dtype=np.int64)
    d = np.asarray(dur_ns, dtype=np.int64)
    if s.size == 0:
        return np.zeros(0, np.float64)
    ends = s + d
    prev = np.empty_like(s)
    prev[1:] = ends[:-1]
    prev[0] = s[0] if prev_end_ns is None else min(int(prev_end_ns), int(s[0]))
    gap = (s - prev).astype(np.float64)
    gap[gap < 0] = 0.0
    if turn_end_ns is not None and np.size(turn_end_ns):
        te = np.asarray(turn_end_ns, dtype=np.int64)
        # a turn end inside [prev end, this start] means the gap is the schedule's, not lost time
        crossed = np.searchsorted(te, s, side="right") > np.searchsorted(te, prev, side="left")
        gap[crossed] = 0.0
    elif max_gap_ns is not None:
        gap[gap > max_gap_ns] = 0.0
    return gap


def call_blocks(
    start_ns: np.ndarray,
    dur_ns: np.ndarray,
    k: int,
    index: np.ndarray | None = None,
    gap_ns: np.ndarray | None = None,
) -> BlockStats:
    """Statistics of blocks of `k` consecutive calls (block = call index // k), in time order.

    `index` is each call's position in the backend's whole measured series (so a thinned or partial series
    forms the same blocks as the full one); default 0…n-1. `gap_ns` is the in-turn idle time before each call
    (see `in_turn_gaps`). Blocks are reported with t0 = first call's start, t1 = last call's end; block_ns is
    the median block span.
    """
    s = np.asarray(start_ns, dtype=np.int64).ravel()
    d = np.asarray(dur_ns, dtype=np.float64).ravel()
    if s.shape != d.shape:
        raise ValueError("start_ns and dur_ns differ in length")
    if s.size == 0:
        return empty_blocks()
    idx = np.arange(s.size, dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
    g = np.zeros(s.size) if gap_ns is None else np.asarray(gap_ns, dtype=np.float64)
    bid = idx // max(1, int(k))
    order = np.lexsort((d, bid))
    bid_sorted, d_sorted = bid[order], d[order]
    first = np.unique(bid_sorted, return_index=True)[1]
    count = np.diff(np.append(first, bid_sorted.size))
    # time order within a block is the index order: take t0/t1 from the unsorted series
    tfirst = np.unique(bid, return_index=True)[1]
    tlast = s.size - 1 - np.unique(bid[::-1], return_index=True)[1]
    ends = s + d.astype(np.int64)
    span = ends[tlast] - s[tfirst]
    return BlockStats(
        block_ns=int(max(1, np.median(span))) if span.size else MIN_BLOCK_NS,
        t0_ns=s[tfirst].astype(np.int64),
        count=count.astype(np.int64),
        median_ns=_interp(d_sorted, first, count, 0.5),
        p90_ns=_interp(d_sorted, first, count, 0.9),
        max_ns=d_sorted[first + count - 1],
        mean_ns=np.add.reduceat(d_sorted, first) / count,
        t1_ns=ends[tlast].astype(np.int64),
        cycle_ns=(np.add.reduceat(d, tfirst) + np.add.reduceat(g, tfirst)) / count,
    )


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of `values` with non-negative `weights` (e.g. block medians weighted by block counts)."""
    v, w = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    if v.size == 0:
        return float("nan")
    o = np.argsort(v, kind="stable")
    cw = np.cumsum(w[o])
    return float(v[o][min(int(np.searchsorted(cw, cw[-1] / 2.0)), v.size - 1)])
