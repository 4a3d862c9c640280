"""analysis/turns.py: turns from recorded turn spans, or inferred from the gaps of an interleaved run."""

from __future__ import annotations

import numpy as np

from infbench.analysis.turns import INFERRED, RECORDED, calls_of, is_paired, turn_index
from infbench.sessions.turns import infer_turns

MS = 1_000_000


def _timeline(owners: list[int], per_turn: int = 100, call_ms: float = 2.6, switch_ms: float = 3.0):
    """Back-to-back calls of two backends, one 0.26 s turn each per entry of `owners`; 1 ms flush gaps."""
    starts: dict[int, list[int]] = {0: [], 1: []}
    truth: dict[int, list[int]] = {0: [], 1: []}
    count = {0: 0, 1: 0}
    t = 0.0
    for who in owners:
        for i in range(per_turn):
            starts[who].append(int(t))
            truth[who].append(count[who])
            t += call_ms * MS + (1.0 * MS if i % 20 == 19 else 0.005 * MS)
        count[who] += 1
        t += switch_ms * MS
    out = {}
    for who in (0, 1):
        s = np.array(starts[who], dtype=np.int64)
        out[who] = (s, np.full(s.size, int(call_ms * MS)), np.array(truth[who]))
    return out


def test_inferred_turns_split_back_to_back_turns_of_one_backend():
    owners = [0, 1, 1, 0, 0, 1, 0, 1, 1, 0]  # rounds in shuffled order: B B and A A meet at round borders
    for s, d, truth in _timeline(owners).values():
        assert np.array_equal(turn_index(s, infer_turns(s, d, 0.25)[0]), truth)
    assert infer_turns(np.array([], np.int64), np.array([], np.int64), 0.25)[0].size == 0


class _Data:
    def __init__(self, schedule: str, with_turns: bool) -> None:
        self.plan = {"schedule": schedule, "block_s": 0.25}
        self._tl = _timeline([0, 1, 1, 0, 0, 1])
        if with_turns:
            self.turns = self._turns

    def samples(self, label: str, phase: str | None = None):
        s, d, _ = self._tl[int(label)]
        return s, d

    def _turns(self, label: str, phase: str | None = "measure"):
        s, _d, truth = self._tl[int(label)]
        first = np.array([s[truth == k][0] for k in range(truth.max() + 1)])
        return first, first + 1, np.bincount(truth), np.zeros(first.size)


def test_calls_of_prefers_recorded_turns_and_falls_back():
    calls, src = calls_of(_Data("interleaved", True), "1")
    assert (
        src == RECORDED
        and calls.n_turns == 3
        and np.array_equal(calls.turn, _Data("interleaved", False)._tl[1][2])
    )
    calls, src = calls_of(_Data("interleaved", False), "0")
    assert src == INFERRED and calls.n_turns == 3
    calls, src = calls_of(_Data("sequential", False), "0")
    assert src == "none" and calls.turn is None
    assert is_paired(_Data("interleaved", False)) and not is_paired(_Data("concurrent", False))
    assert np.array_equal(turn_index(np.array([5, 10, 15, 25]), np.array([10, 20])), [0, 0, 0, 1])
