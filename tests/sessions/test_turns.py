"""infer_turns on samples shaped like the worker's (tests/sessions/worker_sim.py), against the true turns."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.sessions.turns import infer_turns, turn_arrays, whole_turn
from tests.sessions.worker_sim import Engine, lognormal, simulate, uniform

BLOCK_S = 0.25


def _round_trip(rng: np.random.Generator, k: int) -> int:
    """The scheduler's done/run round trip when a backend runs alone: 0.1–1 ms."""
    return int(rng.integers(100_000, 1_000_000))


def _others(rng: np.random.Generator, k: int) -> int:
    """Interleaved with two other backends: their turns run in between, except when the shuffle puts this
    backend last in one round and first in the next (every third turn here): then only a round trip."""
    return _round_trip(rng, k) if k % 3 == 2 else int(rng.integers(250_000_000, 700_000_000))


# Flush gaps measured on real runs: the null engine's ~25–40 ms (200 000 calls shipped) exceed its gaps
# between turns; a ~7 ms engine's 0.6–1.2 ms are as long as its round trip.
NULL = Engine(
    lognormal(70, 0.2),
    uniform(90, 140),
    lambda rng, n: int(rng.integers(20_000_000, 40_000_000)),
    preempt_p=2e-6,
)
# ~2 µs calls: blocks end on time (~20 000 calls), a call or two after the instant predicted from the first
# call's start, since the worker read its clock just before it
MICRO = Engine(
    lognormal(2_000),
    uniform(200, 400),
    lambda rng, n: int(rng.integers(2_000_000, 4_000_000)),
    preempt_p=1e-5,
)
FAST = Engine(
    lognormal(300_000), uniform(800, 3_000), lambda rng, n: int(rng.integers(40_000, 400_000)), preempt_p=1e-3
)
MEDIUM = Engine(
    lognormal(7_000_000),
    uniform(1_000, 4_000),
    lambda rng, n: int(rng.integers(600_000, 1_200_000)),
    preempt_p=5e-3,
)
SLOW = Engine(
    lognormal(60_000_000), uniform(1_000, 4_000), lambda rng, n: int(rng.integers(500_000, 1_000_000))
)
LONG = Engine(
    lognormal(300_000_000), uniform(1_000, 4_000), lambda rng, n: int(rng.integers(500_000, 900_000))
)
ENGINES = {"null": NULL, "micro": MICRO, "fast": FAST, "medium": MEDIUM, "slow": SLOW, "long": LONG}


def _check(sim_turns: tuple[np.ndarray, ...], start: np.ndarray, dur: np.ndarray) -> None:
    got = infer_turns(start, dur, BLOCK_S)
    begin, end, calls, busy = sim_turns
    assert got[2].tolist() == calls.tolist()
    assert np.array_equal(got[3], busy)
    first = np.concatenate([[0], np.cumsum(calls)[:-1]])
    last = np.cumsum(calls) - 1
    assert np.array_equal(got[0], start[first]) and np.array_equal(got[1], (start + dur)[last])
    assert np.all(begin <= got[0]) and np.all(got[1] <= end)  # inferred spans lie inside the true ones


@pytest.mark.parametrize("name", sorted(ENGINES))
@pytest.mark.parametrize("schedule", ["alone", "interleaved"])
def test_inferred_turns_are_the_true_turns(name: str, schedule: str) -> None:
    rng = np.random.default_rng(sorted(ENGINES).index(name) * 2 + (schedule == "alone"))
    n_turns = 4 if name in ("null", "micro") else 12
    sim = simulate(rng, ENGINES[name], n_turns, BLOCK_S, _round_trip if schedule == "alone" else _others)
    start, dur = sim.arrays()
    _check(sim.truth(), start, dur)


def test_null_engine_flush_gaps_exceed_the_round_trip() -> None:
    """The case a rule on gap sizes alone gets wrong: the in-turn gaps are the largest ones."""
    sim = simulate(np.random.default_rng(7), NULL, 3, BLOCK_S, _round_trip)
    start, dur = sim.arrays()
    gap = start[1:] - (start + dur)[:-1]
    between = gap[np.cumsum(sim.truth()[2])[:-1] - 1]
    assert between.max() < np.sort(gap)[-between.size - 1]  # some in-turn gap beats every between-turn gap
    _check(sim.truth(), start, dur)


def test_last_turn_cut_short_and_input_order() -> None:
    rng = np.random.default_rng(3)
    sim = simulate(rng, MEDIUM, 5, BLOCK_S, _round_trip)
    start, dur = sim.arrays()
    begin, end, calls, busy = sim.truth()
    keep = int(calls[:-1].sum()) + 3  # a stop cut the last turn after 3 calls
    truth = (begin, end, np.r_[calls[:-1], 3], np.r_[busy[:-1], dur[keep - 3 : keep].sum()])
    _check(truth, start[:keep], dur[:keep])
    order = rng.permutation(keep)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(
            infer_turns(start[order], dur[order], BLOCK_S), infer_turns(start[:keep], dur[:keep], BLOCK_S)
        )
    )


def test_edge_cases() -> None:
    empty = infer_turns(np.empty(0, np.int64), np.empty(0, np.int64), BLOCK_S)
    assert [a.size for a in empty] == [0, 0, 0, 0] and all(a.dtype == np.int64 for a in empty)
    one = infer_turns(np.array([5]), np.array([7]), BLOCK_S)
    assert [a.tolist() for a in one] == [[5], [12], [1], [7]]
    # an idle gap of a whole turn or more always separates turns, even short ones
    two = infer_turns(np.array([0, 10, 300_000_000]), np.array([5, 5, 5]), BLOCK_S)
    assert two[2].tolist() == [2, 1] and two[1].tolist() == [15, 300_000_005]
    whole = whole_turn(np.array([10, 0]), np.array([1, 100]))  # a warm-up: always one turn
    assert [a.tolist() for a in whole] == [[0], [100], [2], [101]]
    assert [a.size for a in whole_turn(np.empty(0), np.empty(0))] == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="positive"):
        infer_turns(np.array([1]), np.array([1]), 0)
    with pytest.raises(ValueError, match="same length"):
        infer_turns(np.array([1, 2]), np.array([1]), BLOCK_S)


def test_turn_arrays_sorts_and_freezes() -> None:
    s, _, c, _ = turn_arrays([(30, 40, 1, 5), (10, 20, 2, 6)])
    assert s.tolist() == [10, 30] and c.tolist() == [2, 1] and s.dtype == np.int64
    with pytest.raises(ValueError):
        s[0] = 1
