"""The turn of every measured call, from `RunData.turns` or, for data without it, inferred from the samples.

Statistics resample turns (see `intervals`); in an interleaved run the k-th turn of every backend belongs to
round k, which pairs backends. `RunData.turns` gives recorded turns (the session reader infers them itself
for files written before turns were stored); for other data with only samples, the same inference
(`sessions.turns.infer_turns`, which replays the worker's schedule over the calls) is used here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.analysis.intervals import Calls
from infbench.records import PHASE_MEASURE
from infbench.sessions.turns import infer_turns

RECORDED = "recorded turns"
INFERRED = "turns inferred from gaps"
DEFAULT_BLOCK_S = 0.25


def turn_index(start_ns: np.ndarray, turn_start_ns: np.ndarray) -> np.ndarray:
    """Turn index of each call given the (sorted) start times of the recorded turns."""
    idx = np.searchsorted(np.asarray(turn_start_ns), np.asarray(start_ns), side="right") - 1
    return np.clip(idx, 0, max(0, len(turn_start_ns) - 1)).astype(np.int64)


def calls_of(data: Any, label: str, phase: str = PHASE_MEASURE) -> tuple[Calls, str]:
    """(the calls of `label` with their turn index, where the turns came from) for any `RunData`.

    The source is ``recorded turns``, ``turns inferred from gaps`` (interleaved sessions without turn records)
    or ``none`` (other schedules without turn records: the CIs then use blocks of calls).
    """
    start, dur = data.samples(label, phase=phase)
    turns = getattr(data, "turns", None)
    if callable(turns):
        t0, _t1, _calls, _busy = turns(label, phase)
        if len(t0):
            inferred = (getattr(data, "metadata", None) or {}).get("turns") == "inferred"  # old session files
            return Calls(dur, turn_index(start, t0)), INFERRED if inferred else RECORDED
    plan = getattr(data, "plan", None) or {}
    if plan.get("schedule", "interleaved") != "interleaved" or start.size == 0:
        return Calls(dur), "none"
    block_s = float(plan.get("block_s") or DEFAULT_BLOCK_S)
    return Calls(dur, turn_index(start, infer_turns(start, dur, block_s)[0])), INFERRED


def is_paired(data: Any) -> bool:
    """Whether the backends of `data` ran in rounds (interleaved schedule), so turn k of each pairs up."""
    plan = getattr(data, "plan", None) or {}
    return plan.get("schedule", "interleaved") == "interleaved"
