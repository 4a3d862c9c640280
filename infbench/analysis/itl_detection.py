"""Slowdown detection on a generating variant's inter-token latency, the way it runs on call latency.

A generate request is one long call, so a run has few calls and detection on them would wait long and see
little; its decoding steps are many and regular. Each inter-token gap is fed to the same `SlowdownTracker`
(blocks, spike and step detectors, episodes, attribution) as a "call" that starts at the previous token and
lasts the gap. The time between two requests (the next prompt's prefill) is not decoding time: every request's
last token is passed as a turn end, so that gap is the schedule's, not time lost. A CPU throttle that slows
decoding shows as an ITL step; a neighbour's burst as an ITL spike.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from infbench.analysis.attribution import attribute
from infbench.analysis.detection import MIN_STEP_RATIO, DetectionStatus, Episode, SlowdownTracker
from infbench.analysis.drift import burst_vs_sustained
from infbench.analysis.findings import MAX_ATTRIBUTED, episode_finding, turn_ends
from infbench.analysis.generation import TokenSeries
from infbench.analysis.report_model import BurstVsSustained, EpisodeFinding, Findings
from infbench.vocab import EventKind

SERIES_ITL = "itl"
_WORDS = {
    "spike": "inter-token slowdown",
    "step": "sustained inter-token slowdown",
    "drift": "gradual ITL slowdown",
}


def itl_calls(series: TokenSeries) -> tuple[np.ndarray, np.ndarray]:
    """(start_ns, dur_ns) of the ITL series: each gap from the previous token, in time order."""
    order = np.argsort(series.gap_start, kind="stable")
    return series.gap_start[order], series.gap[order]


def boundaries(series: TokenSeries, data: Any = None, label: str | None = None) -> np.ndarray:
    """Sorted ends that split the ITL series: every request's last token, and the recorded turns' ends."""
    ends = [series.request_ends()]
    if data is not None and label is not None:
        turns = turn_ends(data, label)
        if turns is not None:
            ends.append(turns)
    return np.sort(np.concatenate(ends).astype(np.int64))


def itl_headline(ep: Episode) -> str:
    """``sustained inter-token slowdown ×1.60 (ITL 4.1 → 6.5 ms, tokens/s ×0.63, 1.2 s lost)``."""
    f = ep.faces
    parts = [f"ITL {f['before_ms']:.3g} → {f['after_ms']:.3g} ms"]
    if "p90" in f:
        parts.append(f"p90 ×{f['p90']:.2f}")
    if f.get("throughput"):
        parts.append(f"tokens/s ×{1 / f['throughput']:.2f}")
    lost = f"{ep.lost_ms / 1e3:.2g} s lost" if ep.lost_ms >= 1000 else f"{ep.lost_ms:.0f} ms lost"
    return f"{_WORDS.get(ep.kind, ep.kind)} ×{ep.ratio:.2f} ({', '.join(parts)}, {lost})"


GAP = "inter-token gap"  # the unit the ITL series counts, in detection messages


def detect_itl(
    series: TokenSeries, data: Any = None, label: str | None = None, noise_band: float | None = None
) -> tuple[list[Episode], DetectionStatus, SlowdownTracker]:
    """Episodes of the whole ITL series, the detection status and the tracker (its blocks)."""
    min_step = max(MIN_STEP_RATIO, 1.0 + 2.0 * noise_band) if noise_band else MIN_STEP_RATIO
    tracker = SlowdownTracker(label, min_step_ratio=min_step)
    start, dur = itl_calls(series)
    if start.size == 0:
        return [], replace(tracker.status(), unit=GAP), tracker
    found = tracker.feed(start, dur, boundaries(series, data, label), final=True)
    status = replace(tracker.status(), unit=GAP)
    if not status.active:
        return [], status, tracker
    return tracker.episodes(found), status, tracker


def itl_findings(
    data: Any, label: str, series: TokenSeries, base: Findings, noise_band: float | None = None
) -> Findings:
    """`base` (the variant's findings on its calls) with its slowdown episodes, burst-vs-sustained and detection
    status taken from the ITL series instead (``series="itl"``); warm-up end and stability warnings kept."""
    episodes, status, tracker = detect_itl(series, data, label, noise_band)
    t0 = data.t0_ns
    ranked = sorted(episodes, key=lambda e: -e.lost_ms)[:MAX_ATTRIBUTED]
    spikes: list[EpisodeFinding] = []
    shifts: list[EpisodeFinding] = []
    for ep in episodes:
        attr = attribute(ep.t_start_ns, ep.t_end_ns, data, backend=label).to_dict() if ep in ranked else None
        found = replace(episode_finding(ep, t0, attr), headline=itl_headline(ep))
        (spikes if ep.kind == EventKind.SPIKE else shifts).append(found)
    blocks = tracker.blocks()
    bvs = None
    if len(blocks) >= 3:
        b = burst_vs_sustained(blocks)
        if b:
            start_ns = b.get("slowdown_start_ns")
            bvs = BurstVsSustained(
                burst_s=b["burst_s"],
                burst_median_ns=b.get("burst_median_ns"),
                sustained_median_ns=b.get("sustained_median_ns"),
                ratio=b.get("ratio"),
                sustained_slowdown=bool(b.get("sustained_slowdown")),
                slowdown_start_ns=start_ns,
                slowdown_start_s=None if start_ns is None else (start_ns - t0) / 1e9,
            )
    return replace(
        base,
        spikes=tuple(spikes),
        shifts=tuple(shifts),
        burst_vs_sustained=bvs,
        detection=status,
        series=SERIES_ITL,
    )
