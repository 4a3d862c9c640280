"""Turns monitor readings into ``throttle_on`` / ``throttle_off`` events on transitions, with the evidence."""

from __future__ import annotations

import re
from typing import Any

from infbench.monitors.clock_events import describe_clock_events
from infbench.records import MonitorReading, RunEvent
from infbench.vocab import EventKind

_GPU_ALARM = re.compile(r"^(gpu\d+)\.clock_event_alarm$")
_WATCHED = frozenset({"thermal", "pressure", "gpu"})  # the monitors whose readings carry throttle signals


def _num(v: Any) -> float | None:
    """A reading's number, or None when unknown (None, or a name)."""
    return None if v is None or isinstance(v, str) else float(v)


def _pos(v: Any) -> bool | None:
    """True when a delta is > 0, False when 0, None when unknown."""
    n = _num(v)
    return None if n is None else n > 0


class ThrottleTracker:
    """Watches CPU thermal-throttle counters, cgroup CPU-quota throttling and GPU alarm bits.

    A signal turns on when its counter increased (or its alarm bit is set) in a reading, and off at the first
    reading where it did not; unknown values (None) change nothing.
    """

    def __init__(self) -> None:
        self.active: dict[str, dict[str, Any]] = {}

    def update(self, readings: list[MonitorReading]) -> list[RunEvent]:
        """Events for every signal whose state changed in these readings."""
        events: list[RunEvent] = []
        for r in readings:
            if r.source not in _WATCHED:
                continue
            v = r.values
            if "cpu.throttle.core_count.delta" in v or "cpu.throttle.package_count.delta" in v:
                core, pkg = v.get("cpu.throttle.core_count.delta"), v.get("cpu.throttle.package_count.delta")
                states = [s for s in (_pos(core), _pos(pkg)) if s is not None]
                if states:
                    parts = [
                        f"{name} throttle count +{int(_num(d) or 0)}"
                        for name, d in (("core", core), ("package", pkg))
                        if _pos(d)
                    ]
                    events += self._set(
                        r.t_ns,
                        "cpu_thermal",
                        any(states),
                        "CPU thermal throttling: " + ", ".join(parts),
                        {
                            "core_count_delta": core,
                            "package_count_delta": pkg,
                            "temp_max_c": v.get("temp.max_c"),
                        },
                    )
            if "cgroup.nr_throttled.delta" in v or "cgroup.throttled_usec.delta" in v:
                nr, us = v.get("cgroup.nr_throttled.delta"), v.get("cgroup.throttled_usec.delta")
                states = [s for s in (_pos(nr), _pos(us)) if s is not None]
                if states:
                    msg = (
                        f"cgroup CPU-quota throttling: {int(_num(nr) or 0)} periods, "
                        f"{(_num(us) or 0) / 1000:.1f} ms throttled"
                    )
                    events += self._set(
                        r.t_ns,
                        "cgroup",
                        any(states),
                        msg,
                        {
                            "nr_throttled_delta": nr,
                            "throttled_usec_delta": us,
                            "quota_cpus": v.get("cgroup.quota_cpus"),
                        },
                    )
            for key, alarm in v.items() if r.source == "gpu" else ():
                m = _GPU_ALARM.match(key)
                if m is None or alarm is None or isinstance(alarm, str):
                    continue
                gpu = m.group(1)
                bits = v.get(f"{gpu}.clock_event_reasons")
                named = describe_clock_events(bits if isinstance(bits, (int, float)) else None)
                alarms = [n for n, sev in named if sev == "alarm"]
                events += self._set(
                    r.t_ns,
                    gpu,
                    bool(alarm),
                    f"{gpu} throttling: " + ", ".join(alarms),
                    {
                        "gpu": gpu,
                        "bits": hex(int(bits)) if isinstance(bits, (int, float)) else None,
                        "reasons": [list(x) for x in named],
                        "sm_clock_mhz": v.get(f"{gpu}.sm_clock_mhz"),
                        "temp_c": v.get(f"{gpu}.temp_c"),
                        "power_w": v.get(f"{gpu}.power_w"),
                    },
                )
        return events

    def _set(self, t_ns: int, signal: str, on: bool, message: str, data: dict[str, Any]) -> list[RunEvent]:
        was = signal in self.active
        if on and not was:
            self.active[signal] = data
            return [RunEvent(t_ns, EventKind.THROTTLE_ON, message, data={"signal": signal, **data})]
        if not on and was:
            self.active.pop(signal)
            return [
                RunEvent(
                    t_ns,
                    EventKind.THROTTLE_OFF,
                    f"{signal} throttling ended",
                    data={"signal": signal, **data},
                )
            ]
        return []
