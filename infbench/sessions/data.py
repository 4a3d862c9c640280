"""`RunData`: read access to a run's data, implemented by the live in-memory store and by the file reader.

Snapshots (what the TUI renders), reports and analysis are built only through this protocol, so live and
replay share one code path.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from infbench.records import BackendInfo, RunEvent


class RunData(Protocol):
    """A run's plan, backends, samples, monitor readings and events, queried by time (perf_counter_ns)."""

    plan: dict[str, Any]
    system: dict[str, Any]
    t0_ns: int
    t0_wall: float

    def backend_infos(self) -> dict[str, BackendInfo]:
        """Backend label → latest BackendInfo, in plan order."""

    def end_ns(self) -> int:
        """The latest timestamp recorded so far (t0_ns when nothing yet)."""

    def samples(
        self, label: str, t0_ns: int | None = None, t1_ns: int | None = None, phase: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(start_ns int64, dur_ns int64) of calls of `label` starting in [t0_ns, t1_ns), by start time.

        `phase` None means all phases, else ``warmup`` or ``measure``.
        """

    def parts(self, label: str, phase: str | None = "measure") -> dict[str, np.ndarray]:
        """Per-call sub-timings of `label` (`Engine.call_parts`): part name → int64 ns per call, aligned with
        ``samples(label, phase=phase)``; an empty dict for engines without parts (and older sessions)."""

    def tokens(self, label: str, phase: str | None = "measure") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token stamps of `label`'s generating calls: (call start_ns int64 per call, token count int64 per
        call, flat step stamps int64 — call after call), calls in ``samples(label, phase=phase)`` order; three
        empty arrays for engines that do not generate (and older sessions)."""

    def turns(
        self, label: str, phase: str | None = "measure"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(start_ns int64, end_ns int64, calls int64, busy_ns int64) of `label`'s turns, sorted by start.

        `phase` ``measure`` (default), ``warmup``, or None for all phases. A turn is the span in which the
        scheduler let the backend run (``plan.block_s`` in the interleaved schedule); each of its calls starts
        and ends inside [start_ns, end_ns], `calls` counts them and `busy_ns` sums their durations. Sessions of
        schema 1 did not record turns: they are inferred from the samples there (approximate, see
        `infbench.sessions.turns`).
        """

    def metrics(self) -> list[str]:
        """Names of all monitor metrics recorded."""

    def monitor_series(
        self, metric: str, t0_ns: int | None = None, t1_ns: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(t_ns int64, value float64) of one numeric metric in [t0_ns, t1_ns); NaN where unreadable."""

    def monitor_latest(self, t_ns: int) -> dict[str, float | str | None]:
        """The latest value of every metric at or before `t_ns`."""

    def events(self, t0_ns: int | None = None, t1_ns: int | None = None) -> list[RunEvent]:
        """Events with t in [t0_ns, t1_ns), by time."""

    def outcome(self) -> str | None:
        """``complete`` | ``interrupted`` | ``failed``, or None while running / when cut off (kill -9)."""
