"""System memory and swap, and per engine process RSS, CPU, page faults and involuntary context switches."""

from __future__ import annotations

import os
import threading

import psutil

from infbench.monitors.base import Counter, Monitor, MonitorReading, Probe, Values, under
from infbench.monitors.procstat import read_stat

MB = 1024.0 * 1024.0


def read_meminfo(path: str) -> tuple[int, int] | None:
    """(MemTotal, MemAvailable) in bytes from one read of /proc/meminfo, or None when either is missing."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            text = os.read(fd, 1024).decode("ascii", "replace")  # both keys are in the first lines
        finally:
            os.close(fd)
    except OSError:
        return None
    found: dict[str, int] = {}
    for line in text.splitlines()[:8]:
        key, _, rest = line.partition(":")
        if key in ("MemTotal", "MemAvailable"):
            try:
                found[key] = int(rest.split()[0]) * 1024
            except (ValueError, IndexError):
                return None
    if len(found) != 2:
        return None
    return found["MemTotal"], found["MemAvailable"]


def system_memory(root: str = "/") -> Values:
    """``mem.used_mb``, ``mem.available_mb``, ``mem.percent`` — psutil 7's definitions (used = total − available),
    read directly from /proc/meminfo where it has MemAvailable (about 5x cheaper), else through psutil."""
    info = read_meminfo(under(root, "/proc/meminfo"))
    if info is None:
        vm = psutil.virtual_memory()
        total, avail = vm.total, vm.available
    else:
        total, avail = info
    return {
        "mem.used_mb": round((total - avail) / MB, 1),
        "mem.available_mb": round(avail / MB, 1),
        "mem.percent": round(100.0 * (total - avail) / total, 1) if total else None,
    }


class MemoryMonitor(Monitor):
    """`psutil.virtual_memory`/`swap_memory` and, for each engine pid, psutil `memory_info` (RSS, cheap) and
    `num_ctx_switches`, plus `/proc/<pid>/stat` for CPU time and page faults (psutil lacks faults).

    Never calls `memory_full_info` (~240 µs per process). Swap (`swap_memory` scans /proc/vmstat, ~70 µs) is
    read every `swap_every`-th sample only (1 Hz by default); its keys are absent from the other readings.
    """

    name = "memory"

    def __init__(self, rate_hz: float = 2.0, root: str = "/", swap_every: int = 2) -> None:
        self.rate_hz = rate_hz
        self.swap_every = swap_every
        self._n = 0
        self.root = root
        self._lock = threading.Lock()
        self._pids: dict[str, int] = {}
        self._procs: dict[str, psutil.Process] = {}
        self._counter = Counter()
        self._prev_swap: tuple[int, float, float] | None = None
        self._prev_cpu: dict[str, tuple[int, float]] = {}

    def set_processes(self, pids: dict[str, int]) -> None:
        """Engine label → pid to follow (replaces the previous set)."""
        with self._lock:
            self._pids = dict(pids)

    def probe(self) -> Probe:
        """System memory always; swap counters where the OS reports them."""
        available = ["mem", "proc"]
        missing: dict[str, str] = {}
        try:
            psutil.swap_memory()
            available.append("mem.swap")
        except (OSError, RuntimeError) as exc:
            missing["mem.swap"] = f"swap counters unreadable: {exc}"
        return Probe(self.name, available, missing)

    def _swap(self, t_ns: int, values: Values) -> None:
        try:
            sw = psutil.swap_memory()
        except (OSError, RuntimeError):
            return
        values["mem.swap_used_mb"] = round(sw.used / MB, 1)
        prev, self._prev_swap = self._prev_swap, (t_ns, float(sw.sin), float(sw.sout))
        if prev is not None and t_ns > prev[0]:
            dt = (t_ns - prev[0]) / 1e9
            values["mem.swap_in_mb_s"] = round(max(0.0, sw.sin - prev[1]) / MB / dt, 3)
            values["mem.swap_out_mb_s"] = round(max(0.0, sw.sout - prev[2]) / MB / dt, 3)
        else:
            values["mem.swap_in_mb_s"] = values["mem.swap_out_mb_s"] = None

    def _process(self, label: str, pid: int, t_ns: int, values: Values) -> None:
        p = f"proc.{label}."
        proc = self._procs.get(label)
        if proc is None or proc.pid != pid:
            self._procs[label] = proc = psutil.Process(pid)
            for key in ("minor_faults", "major_faults", "ctx_involuntary"):
                self._counter.delta(p + key, None)
            self._prev_cpu.pop(label, None)
        values[p + "rss_mb"] = round(proc.memory_info().rss / MB, 2)
        values[p + "ctx_involuntary.delta"] = self._counter.delta(
            p + "ctx_involuntary", float(proc.num_ctx_switches().involuntary))
        st = read_stat(pid, self.root)
        if st is None:
            return
        values[p + "minor_faults.delta"] = self._counter.delta(p + "minor_faults", float(st.minflt))
        values[p + "major_faults.delta"] = self._counter.delta(p + "major_faults", float(st.majflt))
        prev = self._prev_cpu.get(label)
        self._prev_cpu[label] = (t_ns, st.cpu_s)
        if prev is not None and t_ns > prev[0]:
            values[p + "cpu_percent"] = round(100.0 * max(0.0, st.cpu_s - prev[1]) / ((t_ns - prev[0]) / 1e9), 2)
        else:
            values[p + "cpu_percent"] = None

    def sample(self, t_ns: int) -> MonitorReading:
        """System memory now, swap rates since the previous sample, and each engine process."""
        values: Values = system_memory(self.root)
        if self._n % self.swap_every == 0:
            self._swap(t_ns, values)
        self._n += 1
        with self._lock:
            pids = dict(self._pids)
        for label in [x for x in self._procs if x not in pids]:
            del self._procs[label]
        for label, pid in pids.items():
            try:
                self._process(label, pid, t_ns, values)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                values[f"proc.{label}.rss_mb"] = None
                self._procs.pop(label, None)
        return self.reading(t_ns, values)
