"""Findings of one backend over a whole session: warm-up end, slowdown episodes (transient and sustained, each
with its faces, time lost and attribution), burst vs sustained, stability warnings, and whether detection could
run at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from infbench.analysis.attribution import attribute
from infbench.analysis.blocks import block_stats
from infbench.analysis.detection import (
    MIN_STEP_RATIO,
    DetectionStatus,
    Episode,
    SlowdownTracker,
)
from infbench.analysis.drift import burst_vs_sustained, warmup_end
from infbench.analysis.report_model import BurstVsSustained, EpisodeFinding, Findings
from infbench.analysis.stability import stability_warnings
from infbench.records import PHASE_MEASURE
from infbench.sessions.data import RunData
from infbench.vocab import EventKind, Role

BLOCK_NS = 100_000_000
MAX_BLOCK_INPUT = 2_000_000  # systematic subsample beyond this many calls (block medians barely move)
MAX_ATTRIBUTED = 20


def _thin(start: np.ndarray, dur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if start.size <= MAX_BLOCK_INPUT:
        return start, dur
    stride = start.size // MAX_BLOCK_INPUT + 1
    return start[::stride], dur[::stride]


def cause_text(attribution: Mapping[str, Any] | None) -> str:
    """``verdict: evidence; evidence`` without repeating the verdict when the evidence starts with it."""
    attr = attribution or {}
    verdict = attr.get("verdict", "unexplained")
    evidence = "; ".join((attr.get("evidence") or [])[:2])
    if not evidence:
        return verdict
    return evidence if evidence.startswith(f"{verdict}:") else f"{verdict}: {evidence}"


def _rel_s(t_ns: int | None, t0_ns: int) -> float | None:
    return None if t_ns is None else (t_ns - t0_ns) / 1e9


def turn_ends(data: Any, label: str) -> np.ndarray | None:
    """End times of the recorded turns of `label` (None when the data has no turns: gaps are then judged
    by their length alone)."""
    turns = getattr(data, "turns", None)
    if turns is None:
        return None
    try:
        ends = np.sort(np.asarray(turns(label, None)[1], dtype=np.int64))
    except (KeyError, ValueError, IndexError, TypeError):
        return None
    return ends if ends.size else None


def episode_finding(ep: Episode, t0_ns: int, attribution: Mapping[str, Any] | None = None) -> EpisodeFinding:
    """An episode as the report carries it: times in seconds since t=0, the headline, the faces."""
    return EpisodeFinding(
        kind=ep.kind,
        t_s=_rel_s(ep.t_start_ns, t0_ns),
        t_end_s=_rel_s(ep.t_end_ns, t0_ns),
        ratio=ep.ratio,
        lost_ms=ep.lost_ms,
        headline=ep.headline(),
        attribution=attribution,
        fields=ep.to_dict(),
    )


def detect_episodes(
    data: RunData, label: str, noise_band: float | None = None
) -> tuple[list[Episode], DetectionStatus, SlowdownTracker]:
    """Slowdown episodes of one backend over the whole session: the live detectors run over every measured
    call, so the report finds what the live view found. `noise_band` (the A/A band) raises the smallest
    sustained change reported to twice that band."""
    start, dur = data.samples(label, phase=PHASE_MEASURE)
    min_step = max(MIN_STEP_RATIO, 1.0 + 2.0 * noise_band) if noise_band else MIN_STEP_RATIO
    tracker = SlowdownTracker(label, min_step_ratio=min_step)
    if start.size == 0:
        return [], tracker.status(), tracker
    found = tracker.feed(start, dur, turn_ends(data, label), final=True)
    status = tracker.status()
    if not status.active:
        return [], status, tracker
    return tracker.episodes(found), status, tracker


def _burst(blocks: Any, t0_ns: int) -> BurstVsSustained | None:
    bvs = burst_vs_sustained(blocks)
    if not bvs:
        return None
    start_ns = bvs.get("slowdown_start_ns")
    return BurstVsSustained(
        burst_s=bvs["burst_s"],
        burst_median_ns=bvs.get("burst_median_ns"),
        sustained_median_ns=bvs.get("sustained_median_ns"),
        ratio=bvs.get("ratio"),
        sustained_slowdown=bool(bvs.get("sustained_slowdown")),
        slowdown_start_ns=start_ns,
        slowdown_start_s=_rel_s(start_ns, t0_ns),
    )


def backend_analysis(
    data: RunData, label: str, first_inference_ms: float | None, noise_band: float | None = None
) -> Findings:
    """Findings for one backend; times are seconds since t=0.

    ``spikes`` holds the transient slowdown episodes, ``shifts`` the sustained ones (step/drift); each with
    its faces, time lost and attribution. ``detection`` says whether detection could run, and on what blocks.
    A harness control (`vocab.Role.CONTROL`) gets its warm-up end only: its slowdowns are the harness's.
    """
    t0 = data.t0_ns
    all_start, all_dur = _thin(*data.samples(label))
    start, dur = data.samples(label, phase=PHASE_MEASURE)
    control = is_control(data, label)
    warnings: list[str] = []
    if dur.size and not control:
        median_ms = float(np.median(dur)) / 1e6
        warnings = stability_warnings(dur, first_inference_ms, median_ms)
    warm = None
    if all_start.size:
        warm = _rel_s(warmup_end(block_stats(all_start, all_dur, BLOCK_NS, origin_ns=t0)), t0)
    if start.size == 0 or control:
        return Findings(warmup_end_s=warm, warnings=tuple(warnings))
    episodes, status, tracker = detect_episodes(data, label, noise_band)
    blocks = tracker.blocks()
    bvs = _burst(blocks, t0) if len(blocks) >= 3 else None
    ranked = sorted(episodes, key=lambda e: -e.lost_ms)[:MAX_ATTRIBUTED]
    spikes: list[EpisodeFinding] = []
    shifts: list[EpisodeFinding] = []
    for ep in episodes:
        attr = attribute(ep.t_start_ns, ep.t_end_ns, data, backend=label).to_dict() if ep in ranked else None
        (spikes if ep.kind == EventKind.SPIKE else shifts).append(episode_finding(ep, t0, attr))
    return Findings(
        warmup_end_s=warm,
        spikes=tuple(spikes),
        shifts=tuple(shifts),
        burst_vs_sustained=bvs,
        warnings=tuple(warnings),
        detection=status,
    )


def is_control(data: RunData, label: str) -> bool:
    """Whether `label` is a harness control (its stored roles say so)."""
    info = data.backend_infos().get(label)
    return info is not None and Role.CONTROL in (getattr(info, "roles", None) or ())
