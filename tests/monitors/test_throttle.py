"""ThrottleTracker, the producer of ``throttle_on``/``throttle_off``: one signal per source, each event naming
its signal in ``data["signal"]`` (what every consumer keys spans on), with the evidence."""

from __future__ import annotations

from infbench.monitors.clock_events import ALARM_MASK
from infbench.monitors.throttle import ThrottleTracker
from infbench.records import MonitorReading
from infbench.vocab import EventKind


def _thermal(t: int, core: float | None, pkg: float | None = 0.0) -> MonitorReading:
    values = {
        "cpu.throttle.core_count.delta": core,
        "cpu.throttle.package_count.delta": pkg,
        "temp.max_c": 97.0,
    }
    return MonitorReading(t, "thermal", values)


def _gpu(t: int, alarm: int) -> MonitorReading:
    bits = ALARM_MASK & -ALARM_MASK if alarm else 0  # the lowest alarm bit, or none
    return MonitorReading(t, "gpu", {"gpu0.clock_event_alarm": alarm, "gpu0.clock_event_reasons": bits})


def _cgroup(t: int, nr: float, us: float) -> MonitorReading:
    return MonitorReading(t, "pressure", {"cgroup.nr_throttled.delta": nr, "cgroup.throttled_usec.delta": us})


def test_overlapping_signals_open_and_close_separately() -> None:
    tracker = ThrottleTracker()
    events = []
    events += tracker.update([_thermal(1, 3.0), _gpu(1, 0)])  # CPU on
    events += tracker.update([_thermal(2, 2.0), _gpu(2, 1)])  # GPU on while CPU still on
    events += tracker.update([_thermal(3, 0.0), _gpu(3, 1)])  # CPU off, GPU still on
    events += tracker.update([_thermal(4, None), _gpu(4, 0)])  # unknown CPU value changes nothing; GPU off
    assert [(e.t_ns, e.kind, e.data["signal"]) for e in events] == [
        (1, EventKind.THROTTLE_ON, "cpu_thermal"),
        (2, EventKind.THROTTLE_ON, "gpu0"),
        (3, EventKind.THROTTLE_OFF, "cpu_thermal"),
        (4, EventKind.THROTTLE_OFF, "gpu0"),
    ]
    assert events[0].message == "CPU thermal throttling: core throttle count +3"
    assert events[0].data["core_count_delta"] == 3.0 and events[0].data["temp_max_c"] == 97.0
    assert events[1].data["gpu"] == "gpu0" and events[1].data["reasons"]
    assert tracker.active == {}


def test_cgroup_quota_throttling_and_unknown_values() -> None:
    tracker = ThrottleTracker()
    on = tracker.update([_cgroup(5, 4.0, 12_500.0)])
    assert [(e.kind, e.data["signal"], e.message) for e in on] == [
        (EventKind.THROTTLE_ON, "cgroup", "cgroup CPU-quota throttling: 4 periods, 12.5 ms throttled")
    ]
    assert tracker.update([MonitorReading(6, "pressure", {"cgroup.nr_throttled.delta": None})]) == []
    off = tracker.update([_cgroup(7, 0.0, 0.0)])
    assert [(e.kind, e.data["signal"]) for e in off] == [(EventKind.THROTTLE_OFF, "cgroup")]
    # Not watched
    assert tracker.update([MonitorReading(8, "cpu", {"cpu.throttle.core_count.delta": 9.0})]) == []
