"""`SessionView`: a recorded session as it was at one instant — a `RunData` for replay at time t."""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.records import BackendInfo, RunEvent


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


class SessionView:
    """What was known at `at_ns`: calls finished by then, readings and events up to then, backend states then.

    Build the replay `Snapshot` from it exactly as from the live store.
    """

    def __init__(self, reader: Any, at_ns: int) -> None:
        self.reader = reader
        self.at_ns = at_ns
        self.plan: dict[str, Any] = reader.plan
        self.system: dict[str, Any] = reader.system
        self.t0_ns: int = reader.t0_ns
        self.t0_wall: float = reader.t0_wall

    def backend_infos(self) -> dict[str, BackendInfo]:
        """Label → BackendInfo as last updated at or before the instant."""
        return self.reader.backend_infos(at_ns=self.at_ns)

    def end_ns(self) -> int:
        """The instant (or the recording's end, if earlier)."""
        return min(self.at_ns, self.reader.end_ns())

    def samples(
        self, label: str, t0_ns: int | None = None, t1_ns: int | None = None, phase: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Calls that had finished by the instant, starting in [t0_ns, t1_ns)."""
        start, dur = self.reader.samples(label, t0_ns, _min(t1_ns, self.at_ns), phase)
        done = start + dur <= self.at_ns
        if done.all():
            return start, dur
        return start[done], dur[done]

    def turns(
        self, label: str, phase: str | None = "measure"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, calls, busy) of the turns that had ended by the instant."""
        start, end, calls, busy = self.reader.turns(label, phase)
        done = end <= self.at_ns
        return start[done], end[done], calls[done], busy[done]

    def metrics(self) -> list[str]:
        """Names of all monitor metrics recorded."""
        return self.reader.metrics()

    def monitor_series(
        self, metric: str, t0_ns: int | None = None, t1_ns: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Readings in [t0_ns, t1_ns) up to and including the instant."""
        return self.reader.monitor_series(metric, t0_ns, _min(t1_ns, self.at_ns + 1))

    def monitor_latest(self, t_ns: int) -> dict[str, float | str | None]:
        """Latest values at or before min(t_ns, instant)."""
        return self.reader.monitor_latest(min(t_ns, self.at_ns))

    def events(self, t0_ns: int | None = None, t1_ns: int | None = None) -> list[RunEvent]:
        """Events in [t0_ns, t1_ns) up to and including the instant."""
        return self.reader.events(t0_ns, _min(t1_ns, self.at_ns + 1))

    def outcome(self) -> str | None:
        """The recorded outcome once the instant is at the end, else None (still running then)."""
        return self.reader.outcome() if self.at_ns >= self.reader.end_ns() else None
