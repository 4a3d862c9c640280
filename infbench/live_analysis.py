"""Live spike and step detection during a run, with each finding attributed to what the monitors saw.

`LiveAnalyzer` is a RunListener with its own low-rate thread: once a second it reads the new measured samples
of every backend from the live store, turns them into 100 ms block statistics, feeds the online detectors
(`SpikeDetector`, `CusumDetector`) and emits ``spike`` / ``step`` / ``drift`` events with their attribution.
The events go through the run's listener fan-out, so they are recorded and replay shows them exactly as live.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from infbench.analysis.attribution import attribute
from infbench.analysis.blocks import block_stats
from infbench.analysis.drift import CusumDetector
from infbench.analysis.findings import RECOVERY, cause_text
from infbench.analysis.spikes import SpikeDetector
from infbench.records import PHASE_MEASURE, RunEvent

BLOCK_NS = 100_000_000
ATTRIBUTION_DELAY_NS = 3_000_000_000  # the slowest monitor (other processes) reads every 2 s: wait for it
MAX_SAMPLES_PER_PASS = 20_000  # a systematic subsample of faster engines keeps the pass cheap
CONTROL_BACKENDS = {"null"}


class _Track:
    """Detector state of one backend."""

    def __init__(self, label: str) -> None:
        self.next_t: int | None = None
        self.spikes = SpikeDetector(backend=label)
        self.cusum = CusumDetector(backend=label)


class LiveAnalyzer:
    """Online spike/step detection over a RunData that is being filled (the LiveStore)."""

    def __init__(self, data: Any, emit: Callable[[RunEvent], None], interval_s: float = 1.0) -> None:
        self.data = data
        self.emit = emit
        self.interval_s = interval_s
        self.t0_ns = 0
        self._tracks: dict[str, _Track] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[tuple[str, str, int, int, str, dict]] = []
        self.found: list[RunEvent] = []

    # ---- RunListener ---------------------------------------------------------------------------------------
    def on_start(self, plan: dict, system: dict, t0_ns: int, t0_wall: float) -> None:
        """Start the analysis thread."""
        self.t0_ns = t0_ns
        self._labels = [b["label"] for b in plan.get("backends", []) if b.get("backend") not in CONTROL_BACKENDS]
        self._thread = threading.Thread(target=self._loop, name="infbench-live-analysis", daemon=True)
        self._thread.start()

    def on_finish(self, outcome: str) -> None:
        """Stop the thread after one last pass that closes open spikes."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)

    # ---- the work ----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.step(final=False)
        self.step(final=True)

    def step(self, final: bool = False) -> list[RunEvent]:
        """One pass over every backend's new samples; returns (and emits) the events that are ready.

        Findings wait ATTRIBUTION_DELAY_NS after their end (or the end of the run) before they are attributed
        and emitted, so every monitor has had a chance to read the window.
        """
        for label in self._labels:
            track = self._tracks.setdefault(label, _Track(label))
            try:
                self._pending.extend(self._pass(label, track, final))
            except (ValueError, IndexError):  # a backend with too little data so far: try again later
                continue
        now = self.data.end_ns()
        ready = [p for p in self._pending if final or p[3] + ATTRIBUTION_DELAY_NS <= now]
        self._pending = [p for p in self._pending if p not in ready]
        out = [self._event(*p) for p in sorted(ready, key=lambda p: p[2])]
        for event in out:
            self.found.append(event)
            self.emit(event)
        return out

    def _pass(self, label: str, track: _Track, final: bool) -> list[tuple[str, str, int, int, str, dict]]:
        start, dur = self.data.samples(label, track.next_t, None, PHASE_MEASURE)
        if start.size == 0:
            return []
        # Only whole blocks: the block still filling waits for the next pass (unless the run is over).
        edge = self.t0_ns + ((int(start[-1]) - self.t0_ns) // BLOCK_NS) * BLOCK_NS
        if not final:
            keep = start < edge
            start, dur = start[keep], dur[keep]
            if start.size == 0:
                return []
        if start.size > MAX_SAMPLES_PER_PASS:
            stride = start.size // MAX_SAMPLES_PER_PASS + 1
            start, dur = start[::stride], dur[::stride]
        blocks = block_stats(start, dur, BLOCK_NS, origin_ns=self.t0_ns)
        track.next_t = edge if not final else int(start[-1]) + 1
        events = []
        spikes = track.spikes.update(blocks)
        if final:
            spikes += track.spikes.flush()
        for spike in spikes:
            events.append(("spike", label, spike.t_start_ns, spike.t_end_ns,
                           f"latency spike ×{spike.ratio:.2f} ({spike.metric})", spike.to_dict()))
        for shift in track.cusum.update(blocks):
            end = shift.t_end_ns or shift.t_ns + BLOCK_NS
            what = f"latency {shift.kind} ×{shift.ratio:.2f} ({shift.before / 1e6:.3g} → {shift.after / 1e6:.3g} ms)"
            events.append((shift.kind, label, shift.t_ns, end, what, _shift_dict(shift)))
        return events

    def _event(self, kind: str, label: str, t0: int, t1: int, what: str, detail: dict) -> RunEvent:
        ratio = float(detail.get("ratio", 1.0))
        attr = RECOVERY if ratio < 1.0 else attribute(t0, max(t1, t0 + BLOCK_NS), self.data, backend=label).to_dict()
        return RunEvent(t0, kind, f"{label}: {what} — {cause_text(attr)}", label,
                        {**detail, "t_end_ns": t1, "attribution": attr})


def _shift_dict(shift: Any) -> dict[str, Any]:
    d = shift.to_dict() if hasattr(shift, "to_dict") else dict(shift.__dict__)
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in d.items()}
