"""One daemon thread drives every monitor at its own rate on one clock, and reports to a RunListener."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from infbench.monitors.base import Monitor, Probe
from infbench.monitors.throttle import ThrottleTracker
from infbench.records import MonitorReading, RunEvent
from infbench.vocab import EventKind

__all__ = ["Sampler", "default_monitors", "sensor_events", "tick_plan"]

log = logging.getLogger(__name__)


def default_monitors(root: str = "/") -> list[Monitor]:
    """Every monitor, reading sysfs/proc under `root` (tests point it at fixture trees)."""
    from infbench.monitors.cpu import CpuFreqMonitor, CpuMonitor
    from infbench.monitors.memory import MemoryMonitor
    from infbench.monitors.nvidia import NvidiaMonitor
    from infbench.monitors.system import OtherProcessesMonitor, PressureMonitor
    from infbench.monitors.thermal import ThermalMonitor

    return [
        CpuMonitor(),
        MemoryMonitor(root=root),
        PressureMonitor(root=root),
        CpuFreqMonitor(root=root),
        ThermalMonitor(root=root),
        OtherProcessesMonitor(root=root),
        NvidiaMonitor(),
    ]


def sensor_events(probes: list[Probe], t_ns: int) -> list[RunEvent]:
    """One ``sensor`` event per missing sensor, e.g. ``gpu: unavailable: NVML Shared Library Not Found``."""
    events = []
    for p in probes:
        for sensor, reason in p.missing.items():
            msg = (
                f"{p.monitor}: unavailable: {reason}"
                if sensor == p.monitor
                else (f"{p.monitor}: {sensor} unavailable: {reason}")
            )
            events.append(
                RunEvent(
                    t_ns,
                    EventKind.SENSOR,
                    msg,
                    data={"monitor": p.monitor, "sensor": sensor, "reason": reason},
                )
            )
    return events


_MAX_SLEEP_S = 0.1
_MAX_PLAN = 1000  # longest precomputed tick cycle


def tick_plan(monitors: list[Monitor]) -> tuple[float, list[list[Monitor]]]:
    """(base period in s, the monitors due at each tick of one cycle): tick ``n`` samples ``plan[n % len]``.

    The base rate is the fastest monitor's; each monitor runs every k-th tick, k = base rate ÷ its rate rounded
    (so 3 Hz under a 10 Hz base runs at 3.3 Hz). Precomputing the cycle keeps each tick's own work minimal:
    on a VM every object touched right after a sleep costs microseconds.
    """
    if not monitors:
        return _MAX_SLEEP_S, [[]]
    base = max(max(m.rate_hz for m in monitors), 1e-3)
    every = [(m, max(1, round(base / max(m.rate_hz, 1e-3)))) for m in monitors]
    length = 1
    for _, k in every:
        length = math.lcm(length, k)
    length = min(length, _MAX_PLAN)
    return 1.0 / base, [[m for m, k in every if n % k == 0] for n in range(length)]


class Sampler:
    """Samples monitors on one daemon thread; all readings of one tick share one `clock()` timestamp.

    Args:
        monitors: the monitors (probed in `start`; those with nothing available are not sampled).
        listener: has ``on_monitor(list[MonitorReading])`` and ``on_event(RunEvent)``.
        clock: the run's clock (`time.perf_counter_ns`).
        monotonic: the pacing clock, in seconds (`time.monotonic`); tests inject a fake one.
        sleep: how the thread waits between ticks (`time.sleep`); tests inject one that advances `monotonic`.
    """

    def __init__(
        self,
        monitors: list[Monitor],
        listener: Any,
        clock: Callable[[], int] = time.perf_counter_ns,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.monitors = list(monitors)
        self.listener = listener
        self.clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self.probes: list[Probe] = []
        self.ticks = 0
        self._active: list[Monitor] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pids: dict[str, int] | None = None
        self._failed: set[str] = set()
        self._listener_errors: set[str] = set()
        self._throttle = ThrottleTracker()

    def set_processes(self, pids: dict[str, int]) -> None:
        """Engine label → pid; handed to the monitors on the sampler thread at the next tick. Thread-safe."""
        with self._lock:
            self._pids = dict(pids)

    def _emit(self, event: RunEvent) -> None:
        try:
            self.listener.on_event(event)
        except Exception as exc:  # a listener bug must not stop sampling
            self._listener_failed("on_event", exc)

    def _listener_failed(self, method: str, exc: Exception) -> None:
        """Warn once per listener method (with the traceback at debug), then only at debug: it runs per tick."""
        if method in self._listener_errors:
            log.debug("monitor listener %s failed again: %s: %s", method, type(exc).__name__, exc)
            return
        self._listener_errors.add(method)
        log.warning("monitor listener %s failed (sampling goes on): %s: %s", method, type(exc).__name__, exc)
        log.debug("monitor listener %s traceback", method, exc_info=exc)

    def _probe_all(self) -> None:
        self.probes, self._active = [], []
        for m in self.monitors:
            try:
                probe = m.probe()
            except Exception as exc:  # a monitor bug: that monitor is missing (a sensor event), the rest run
                log.debug("monitor %s: probe failed", m.name, exc_info=True)
                probe = Probe(m.name, [], {m.name: f"probe failed: {type(exc).__name__}: {exc}"})
            self.probes.append(probe)
            if probe.usable:
                self._active.append(m)
        for event in sensor_events(self.probes, self.clock()):
            self._emit(event)

    def start(self) -> None:
        """Probe every monitor (emitting one ``sensor`` event per missing sensor), then start the thread."""
        if self._thread is not None:
            return
        self._probe_all()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="infbench-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait for it (a tick in progress finishes first); close the monitors."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        for m in self._active:
            try:
                m.close()
            except Exception:  # closing is best effort: the run is over
                log.debug("monitor %s: close failed", m.name, exc_info=True)

    def _push_pids(self) -> None:
        if self._pids is None:  # the usual case, checked without the lock
            return
        with self._lock:
            pids, self._pids = self._pids, None
        if pids is None:
            return
        for m in self._active:
            try:
                m.set_processes(pids)
            except Exception as exc:
                self._report_failure(m, exc)

    def _report_failure(self, m: Monitor, exc: Exception) -> None:
        if m.name in self._failed:
            return
        self._failed.add(m.name)
        # the sensor event below tells the user; the traceback is for -vv
        log.debug("monitor %s: sampling failed", m.name, exc_info=exc)
        self._emit(
            RunEvent(
                self.clock(),
                EventKind.SENSOR,
                f"{m.name}: sampling failed: {type(exc).__name__}: {exc}",
                data={"monitor": m.name, "error": f"{type(exc).__name__}: {exc}"},
            )
        )

    def tick(self, due: list[Monitor]) -> list[MonitorReading]:
        """Sample `due` monitors once on one timestamp; report readings and throttle transitions."""
        self._push_pids()
        t_ns = self.clock()
        readings: list[MonitorReading] = []
        for m in due:
            try:
                readings.append(m.sample(t_ns))
            except Exception as exc:
                self._report_failure(m, exc)
        self.ticks += 1
        if readings:
            try:  # not contextlib.suppress: its objects cost more right after a sleep
                self.listener.on_monitor(readings)
            except Exception as exc:  # a listener's failure must not stop the sampling
                self._listener_failed("on_monitor", exc)
            for event in self._throttle.update(readings):
                self._emit(event)
        return readings

    def _loop(self) -> None:
        period, plan = tick_plan(self._active)
        sleep, monotonic, stop = self._sleep, self._monotonic, self._stop.is_set
        start = monotonic()
        n = 0
        while not stop():
            due = plan[n % len(plan)]
            if due:
                self.tick(due)
            n += 1
            wait = start + n * period - monotonic()
            if wait < 0:  # fell behind (suspended, slow sensor): skip the missed ticks rather than burst
                n = int((monotonic() - start) / period) + 1
                wait = start + n * period - monotonic()
            while wait > 0 and not stop():
                # time.sleep wakes more cheaply than Event.wait (measured: 0.08 vs 0.13 % of a core at 10 Hz);
                # stop() is still noticed within _MAX_SLEEP_S.
                sleep(min(wait, _MAX_SLEEP_S))
                wait = start + n * period - monotonic()
