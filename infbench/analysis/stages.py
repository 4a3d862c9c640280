"""Where the time of a call goes: the per-call parts an engine reports (`Engine.call_parts`, e.g. a pipeline's
``tokenize`` / ``infer`` / ``post``), summarised per variant.

For each part: its median over the measured calls (ms) and its share of the time spent in calls (the part's
total over the calls' total, so shares add up); what no part covers (a pipeline's batch collation and
iteration) is ``other``. Pure functions over `RunData.parts` and `RunData.samples`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from infbench.records import PHASE_MEASURE
from infbench.sessions.extras import NO_PART

OTHER = "other"  # the name of what no reported part covers


@dataclass(frozen=True)
class StagePart:
    """One part of the calls: median ms over the calls, and share (0–1) of the time spent in calls."""

    name: str
    median_ms: float
    share: float

    def to_json_dict(self) -> dict[str, Any]:
        """``{"name", "median_ms", "share"}``."""
        return {"name": self.name, "median_ms": self.median_ms, "share": self.share}


@dataclass(frozen=True)
class StageSplit:
    """A variant's stage split: its parts in the engine's order, then ``other`` (the rest of the call)."""

    parts: tuple[StagePart, ...]
    calls: int
    call_median_ms: float

    def to_json_dict(self) -> dict[str, Any]:
        """``{"calls", "call_median_ms", "parts": [...]}``."""
        return {
            "calls": self.calls,
            "call_median_ms": self.call_median_ms,
            "parts": [p.to_json_dict() for p in self.parts],
        }

    def part(self, name: str) -> StagePart | None:
        """The part called `name` (None when absent)."""
        return next((p for p in self.parts if p.name == name), None)


def stage_split(parts: Mapping[str, np.ndarray], dur_ns: np.ndarray) -> StageSplit | None:
    """The split of calls with durations `dur_ns` (ns) and their `parts` (name → ns per call, aligned);
    calls missing a part are left out. None without parts or calls."""
    if not parts:
        return None
    dur = np.asarray(dur_ns, np.int64)
    cols = {k: np.asarray(v, np.int64) for k, v in parts.items()}
    if any(c.size != dur.size for c in cols.values()):
        raise ValueError("call parts are not aligned with the calls")
    keep = np.ones(dur.size, bool)
    for c in cols.values():
        keep &= c != NO_PART
    if not keep.any():
        return None
    dur = dur[keep]
    cols = {k: c[keep] for k, c in cols.items()}
    total = float(dur.sum())
    covered = np.sum(np.stack(list(cols.values())), axis=0)
    other = np.maximum(dur - covered, 0)
    out = [
        StagePart(name, float(np.median(c)) / 1e6, float(c.sum()) / total if total > 0 else 0.0)
        for name, c in [*cols.items(), (OTHER, other)]
    ]
    return StageSplit(tuple(out), int(dur.size), float(np.median(dur)) / 1e6)


def variant_stages(data: Any, label: str, t1_ns: int | None = None) -> StageSplit | None:
    """The stage split of `label`'s measured calls in a `RunData` (those starting before `t1_ns` when given);
    None for a variant whose engine reports no parts (and sessions recorded before parts existed)."""
    parts_of = getattr(data, "parts", None)  # a RunData written before call parts existed has none
    parts = parts_of(label, PHASE_MEASURE) if parts_of is not None else {}
    if not parts:
        return None
    start, dur = data.samples(label, phase=PHASE_MEASURE)
    if t1_ns is not None:
        n = int(np.searchsorted(start, t1_ns, "left"))
        dur = dur[:n]
        parts = {k: v[:n] for k, v in parts.items()}
    return stage_split(parts, dur)


def with_stages(data: Any, results: Mapping[str, Any]) -> dict[str, Any]:
    """`results` (label → `report_model.VariantResult`) with ``stages`` filled for variants with call parts."""
    out = dict(results)
    for label, r in results.items():
        split = variant_stages(data, label)
        if split is not None:
            out[label] = replace(r, stages=split)
    return out
