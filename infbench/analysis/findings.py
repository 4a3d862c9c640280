"""Findings of one backend over a whole session: warm-up end, spikes, steps and drift, burst vs sustained,
stability warnings, each slowdown attributed to what the monitors saw."""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.analysis.attribution import attribute
from infbench.analysis.blocks import block_stats
from infbench.analysis.drift import burst_vs_sustained, detect_shifts, warmup_end
from infbench.analysis.spikes import detect_spikes
from infbench.analysis.stability import stability_warnings
from infbench.records import PHASE_MEASURE
from infbench.sessions.data import RunData

BLOCK_NS = 100_000_000
MAX_BLOCK_INPUT = 2_000_000  # systematic subsample beyond this many calls (block medians barely move)
MAX_ATTRIBUTED = 20
CONTROL_BACKENDS = {"null"}


def _thin(start: np.ndarray, dur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if start.size <= MAX_BLOCK_INPUT:
        return start, dur
    stride = start.size // MAX_BLOCK_INPUT + 1
    return start[::stride], dur[::stride]


RECOVERY = {"verdict": "recovery", "evidence": [], "scores": {}}


def cause_text(attribution: dict[str, Any] | None) -> str:
    """``verdict: evidence; evidence`` without repeating the verdict when the evidence starts with it."""
    attr = attribution or {}
    verdict = attr.get("verdict", "unexplained")
    evidence = "; ".join((attr.get("evidence") or [])[:2])
    if not evidence:
        return verdict
    return evidence if evidence.startswith(f"{verdict}:") else f"{verdict}: {evidence}"


def _attr(t0: int, t1: int, ratio: float, data: RunData, label: str) -> dict[str, Any]:
    """Attribution of a slowdown; a speed-up is the end of an earlier slowdown, not something to explain."""
    if ratio < 1.0:
        return dict(RECOVERY)
    return attribute(t0, t1, data, backend=label).to_dict()


def _rel_s(t_ns: int | None, t0_ns: int) -> float | None:
    return None if t_ns is None else (t_ns - t0_ns) / 1e9


def backend_analysis(data: RunData, label: str, first_inference_ms: float | None) -> dict[str, Any]:
    """Findings for one backend (JSON-ready); times are seconds since t=0."""
    t0 = data.t0_ns
    all_start, all_dur = _thin(*data.samples(label))
    start, dur = data.samples(label, phase=PHASE_MEASURE)
    out: dict[str, Any] = {"warmup_end_s": None, "spikes": [], "shifts": [], "burst_vs_sustained": None,
                           "warnings": []}
    if dur.size and infos_backend(data, label) not in CONTROL_BACKENDS:
        median_ms = float(np.median(dur)) / 1e6
        out["warnings"] = stability_warnings(dur, first_inference_ms, median_ms)
    if all_start.size:
        out["warmup_end_s"] = _rel_s(warmup_end(block_stats(all_start, all_dur, BLOCK_NS, origin_ns=t0)), t0)
    start, dur = _thin(start, dur)
    if start.size == 0:
        return out
    blocks = block_stats(start, dur, BLOCK_NS, origin_ns=t0)
    if len(blocks) < 3:
        return out
    bvs = burst_vs_sustained(blocks)
    if bvs:
        bvs = dict(bvs)
        if bvs.get("slowdown_start_ns") is not None:
            bvs["slowdown_start_s"] = _rel_s(bvs["slowdown_start_ns"], t0)
        out["burst_vs_sustained"] = bvs
    spikes = detect_spikes(blocks, backend=label)
    for k, spike in enumerate(spikes):
        d = spike.to_dict()
        d["t_s"], d["t_end_s"] = _rel_s(spike.t_start_ns, t0), _rel_s(spike.t_end_ns, t0)
        if k < MAX_ATTRIBUTED:
            d["attribution"] = _attr(spike.t_start_ns, spike.t_end_ns, spike.ratio, data, label)
        out["spikes"].append(d)
    for shift in detect_shifts(blocks, backend=label):
        d = shift.to_dict()
        end = shift.t_end_ns or shift.t_ns + BLOCK_NS
        d["t_s"] = _rel_s(shift.t_ns, t0)
        d["attribution"] = _attr(shift.t_ns, max(end, shift.t_ns + BLOCK_NS), shift.ratio, data, label)
        out["shifts"].append(d)
    return out


def infos_backend(data: RunData, label: str) -> str | None:
    """The backend name of `label` (None when unknown)."""
    info = data.backend_infos().get(label)
    return getattr(info, "backend", None)


