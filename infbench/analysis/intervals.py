"""Which bootstrap a CI uses, and the quantile / ratio-of-quantiles CIs built with it.

Methods, in order of preference for data that is not independent call by call:

- ``paired round bootstrap``: two backends of one interleaved run; the k-th turn of each belongs to round k, so
  resampling rounds keeps what both saw at the same time (drift hits both) and cancels it in the ratio;
- ``turn bootstrap``: one backend's turns are the independent units;
- ``moving-block bootstrap``: no turns known (or fewer than 3): blocks of consecutive calls whose length comes
  from the autocorrelation (`resample.block_length`).

The exact order-statistic bootstrap of single calls (`resample.bootstrap_quantile_draws`) is kept only when the
calls pass an independence check (`resample.dispersion_pvalue` across turns or across 50 blocks, at the median
and at p99). Every result names its method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from infbench.analysis import resample as rs

EXACT = "exact"
TURN = "turn"
BLOCK = "block"
MIN_TURNS = 3
SUB_PER_BLOCK = 4  # a moving block spans this many sub-blocks (its start can fall on any sub-block)
CHECK_QUANTILES = (0.5, 0.99)
MAX_UNITS = 1500  # more turns or sub-blocks than this are merged (consecutive ones): bounds time and memory


@dataclass(frozen=True)
class Calls:
    """Call durations in time order, with the index of the turn (0, 1, …) each call belongs to when known.

    In an interleaved run the k-th turn of every backend belongs to round k, so turn indices pair backends.
    """

    dur: np.ndarray
    turn: np.ndarray | None = None

    @property
    def n_turns(self) -> int:
        """Number of turns (highest turn index + 1), 0 when turns are unknown."""
        return 0 if self.turn is None or self.turn.size == 0 else int(self.turn.max()) + 1

    def merged(self, per_unit: int) -> Calls:
        """The same calls with every `per_unit` consecutive turns merged into one (turn k → k // per_unit)."""
        if self.turn is None or per_unit <= 1:
            return self
        return Calls(self.dur, self.turn // per_unit)


@dataclass(frozen=True)
class UnitPlan:
    """How to resample one backend's calls.

    Attributes:
        kind: ``exact``, ``turn`` or ``block``.
        units: unit index per call (turns, or sub-blocks of a moving-block bootstrap); None for exact.
        n_units: number of units in `units`.
        per_block: sub-blocks per moving block (1 unless kind is ``block``).
        n_independent: number of independent units (turns, or blocks) for the small-sample expansion.
        block_calls: calls per moving block (block kind), else 0.
    """

    kind: str
    units: np.ndarray | None
    n_units: int
    per_block: int = 1
    n_independent: int = 0
    block_calls: int = 0

    def describe(self) -> str:
        """``turn bootstrap (312 turns)`` and the like."""
        if self.kind == TURN:
            return f"turn bootstrap ({self.n_units} turns)"
        if self.kind == BLOCK:
            return f"moving-block bootstrap ({self.n_independent} blocks of {self.block_calls} calls)"
        return "exact bootstrap of independent calls"


def as_calls(x: np.ndarray | Calls) -> Calls:
    """`x` as Calls (float64 durations); a plain array has no turns.

    Raises:
        ValueError: when there are no calls.
    """
    c = x if isinstance(x, Calls) else Calls(np.asarray(x))
    dur = np.asarray(c.dur, dtype=np.float64).ravel()
    if dur.size == 0:
        raise ValueError("no samples")
    turn = None if c.turn is None else np.asarray(c.turn, dtype=np.int64).ravel()
    if turn is not None and turn.size != dur.size:
        raise ValueError("turn index and durations differ in length")
    return Calls(dur, turn)


def _independent(values: np.ndarray, units: np.ndarray, n_units: int) -> bool:
    return all(
        rs.dispersion_pvalue(values, units, n_units, q) >= rs.ALPHA_INDEPENDENT for q in CHECK_QUANTILES
    )


def plan_units(calls: Calls) -> UnitPlan:
    """The resampling plan for one backend's calls (see the module docstring)."""
    v = calls.dur
    if calls.turn is not None and calls.n_turns >= MIN_TURNS:
        if _independent(v, calls.turn, calls.n_turns):
            return UnitPlan(EXACT, None, 0, n_independent=v.size)
        c = calls.merged(math.ceil(calls.n_turns / MAX_UNITS))
        assert c.turn is not None
        return UnitPlan(TURN, c.turn, c.n_turns, n_independent=c.n_turns)
    n = v.size
    if n < 2 * rs.CHECK_BLOCKS or _independent(v, rs.block_units(n, rs.CHECK_BLOCKS), rs.CHECK_BLOCKS):
        return UnitPlan(EXACT, None, 0, n_independent=n)
    length = rs.block_length(v)
    sub = max(1, length // SUB_PER_BLOCK, math.ceil(n / MAX_UNITS))
    per_block = max(1, math.ceil(length / sub))
    n_sub = math.ceil(n / sub)
    return UnitPlan(
        BLOCK,
        (np.arange(n) // sub).astype(np.int64),
        n_sub,
        per_block,
        n_independent=max(1, math.ceil(n / (sub * per_block))),
        block_calls=sub * per_block,
    )


def weights_for(plan: UnitPlan, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap weights over the plan's units (n_boot × n_units)."""
    if plan.kind == BLOCK:
        return rs.moving_block_weights(plan.n_units, plan.per_block, n_boot, rng)
    return rs.multinomial_weights(plan.n_units, n_boot, rng)


def quantile_draws(
    calls: Calls,
    plan: UnitPlan,
    q: float,
    weights: np.ndarray | None,
    n_boot: int,
    rng: np.random.Generator,
    sorted_values: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap draws of the q-quantile of `calls` under `plan` (`weights` unused for the exact method)."""
    s = np.sort(calls.dur) if sorted_values is None else sorted_values
    if plan.kind == EXACT or weights is None:
        return rs.bootstrap_quantile_draws(s, q, n_boot, rng)
    assert plan.units is not None
    return rs.unit_quantile_draws(calls.dur, plan.units, plan.n_units, q, weights, s)


def quantile_cis(
    calls: Calls,
    qs: tuple[float, ...],
    n_boot: int,
    rng: np.random.Generator,
    sorted_values: np.ndarray | None = None,
) -> tuple[list[tuple[float, float]], str]:
    """95 % CIs of the quantiles `qs` of one backend's calls, and the method's description."""
    calls = as_calls(calls)
    plan = plan_units(calls)
    w = None if plan.kind == EXACT else weights_for(plan, n_boot, rng)
    n_ind = plan.n_independent if plan.kind != EXACT else 10**9
    cis = [rs.interval(quantile_draws(calls, plan, q, w, n_boot, rng, sorted_values), n_ind) for q in qs]
    return cis, plan.describe()


@dataclass(frozen=True)
class RatioDraws:
    """Bootstrap draws of B/A for several quantiles, with the method and its number of independent units."""

    draws: dict[float, np.ndarray]
    method: str
    n_independent: int
    exact: bool

    def ci(self, q: float) -> tuple[float, float]:
        """95 % interval of the ratio of q-quantiles."""
        return rs.interval(self.draws[q], self.n_independent if not self.exact else 10**9)

    def p_value(self, q: float = 0.5) -> float:
        """Two-sided bootstrap p-value of "ratio = 1" (share of draws on the far side of 1, doubled)."""
        d = self.draws[q][np.isfinite(self.draws[q])]
        if d.size == 0:
            return 1.0
        tail = min(float(np.mean(d <= 1.0)), float(np.mean(d >= 1.0)))
        return float(min(1.0, max(2.0 * tail, 1.0 / d.size)))


def _ratio(db: np.ndarray, da: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = db / da
    return np.where(da == db, 1.0, r)  # 0/0 → equal


def ratio_draws(
    a: Calls, b: Calls, qs: tuple[float, ...], n_boot: int, rng: np.random.Generator, paired: bool = False
) -> RatioDraws:
    """Bootstrap draws of quantile(B) / quantile(A) for each q in `qs`.

    `paired`: A and B come from one interleaved run, so turn k of each belongs to round k; rounds are then
    resampled together (unless both sides pass the independence check, when the exact bootstrap is used).
    """
    sa, sb = np.sort(a.dur), np.sort(b.dur)
    pa, pb = plan_units(a), plan_units(b)
    if pa.kind == EXACT and pb.kind == EXACT:
        draws = {
            q: _ratio(
                quantile_draws(b, pb, q, None, n_boot, rng, sb),
                quantile_draws(a, pa, q, None, n_boot, rng, sa),
            )
            for q in qs
        }
        return RatioDraws(draws, "exact bootstrap of independent calls", 10**9, True)
    if paired and a.n_turns >= MIN_TURNS and b.n_turns >= MIN_TURNS:
        per = math.ceil(max(a.n_turns, b.n_turns) / MAX_UNITS)  # consecutive rounds merged: still paired
        a, b = a.merged(per), b.merged(per)
        rounds = max(a.n_turns, b.n_turns)
        w = rs.multinomial_weights(rounds, n_boot, rng)
        assert a.turn is not None and b.turn is not None
        draws = {
            q: _ratio(
                rs.unit_quantile_draws(b.dur, b.turn, b.n_turns, q, w[:, : b.n_turns], sb),
                rs.unit_quantile_draws(a.dur, a.turn, a.n_turns, q, w[:, : a.n_turns], sa),
            )
            for q in qs
        }
        n = min(a.n_turns, b.n_turns)
        merged = f", {per} consecutive rounds per unit" if per > 1 else ""
        return RatioDraws(draws, f"paired round bootstrap ({n} rounds{merged})", n, False)
    wa = None if pa.kind == EXACT else weights_for(pa, n_boot, rng)
    wb = None if pb.kind == EXACT else weights_for(pb, n_boot, rng)
    draws = {
        q: _ratio(
            quantile_draws(b, pb, q, wb, n_boot, rng, sb), quantile_draws(a, pa, q, wa, n_boot, rng, sa)
        )
        for q in qs
    }
    method = pa.describe() if pa.describe() == pb.describe() else f"A: {pa.describe()}; B: {pb.describe()}"
    return RatioDraws(draws, method, min(pa.n_independent, pb.n_independent), False)
