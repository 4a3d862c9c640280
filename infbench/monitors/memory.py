"""System memory and swap, and per engine process RSS, CPU, page faults and involuntary context switches."""

from __future__ import annotations

import os
import threading

import psutil

from infbench.monitors.base import Counter, KeptFile, Monitor, MonitorReading, Probe, Values, under
from infbench.monitors.procstat import PAGE_SIZE, parse_involuntary_switches, parse_stat

MB = 1024.0 * 1024.0
_MEMINFO_KEYS = ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree")


def parse_meminfo(text: str) -> dict[str, int]:
    """MemTotal, MemAvailable, SwapTotal and SwapFree (those present) in bytes from /proc/meminfo content."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in _MEMINFO_KEYS:
            try:
                found[key] = int(rest.split()[0]) * 1024
            except (ValueError, IndexError):
                continue
            if len(found) == len(_MEMINFO_KEYS):
                break
    return found


def memory_values(info: dict[str, int] | None) -> Values:
    """``mem.used_mb``, ``mem.available_mb``, ``mem.percent`` — psutil 7's definitions (used = total − available),
    from parsed /proc/meminfo where it has MemAvailable (about 5x cheaper), else through psutil."""
    if info is None or "MemTotal" not in info or "MemAvailable" not in info:
        vm = psutil.virtual_memory()
        total, avail = vm.total, vm.available
    else:
        total, avail = info["MemTotal"], info["MemAvailable"]
    return {
        "mem.used_mb": round((total - avail) / MB, 1),
        "mem.available_mb": round(avail / MB, 1),
        "mem.percent": round(100.0 * (total - avail) / total, 1) if total else None,
    }


def vmstat_value(text: str, key: str) -> int | None:
    """One counter of /proc/vmstat content (found directly: parsing all ~190 lines costs ~20x more)."""
    prefix = key + " "
    if text.startswith(prefix):
        i = 0
    else:
        i = text.find("\n" + prefix)
        if i < 0:
            return None
        i += 1
    try:
        return int(text[i + len(prefix) :].split("\n", 1)[0])
    except ValueError:
        return None


class _Tracked:
    """The kept-open /proc files of one engine process (tied to that process, not to its pid number)."""

    def __init__(self, root: str, pid: int) -> None:
        self.pid = pid
        self.stat = KeptFile(under(root, f"/proc/{pid}/stat"), 4096, reopen=False)
        self.status = KeptFile(under(root, f"/proc/{pid}/status"), 8192, reopen=False)

    def close(self) -> None:
        self.stat.close()
        self.status.close()


class MemoryMonitor(Monitor):
    """System memory, swap and, for each engine pid, RSS, CPU time, page faults and involuntary switches.

    On Linux everything comes from /proc files kept open between samples (one pread each): `/proc/meminfo`,
    `/proc/vmstat` (swap-ins/outs), and per engine `/proc/<pid>/stat` (RSS, CPU, faults) and `…/status`
    (switches); psutil fills in where they are missing. Swap rates are read every `swap_every`-th sample only
    (1 Hz by default); their keys are absent from the other readings.
    """

    name = "memory"

    def __init__(self, rate_hz: float = 2.0, root: str = "/", swap_every: int = 2) -> None:
        self.rate_hz = rate_hz
        self.swap_every = swap_every
        self._n = 0
        self.root = root
        self._lock = threading.Lock()
        self._pids: dict[str, int] = {}
        self._tracked: dict[str, _Tracked] = {}
        self._meminfo = KeptFile(under(root, "/proc/meminfo"), 8192)
        self._vmstat = KeptFile(under(root, "/proc/vmstat"), 16384)
        self._procfs = os.path.isdir(under(root, "/proc"))
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

    def _swap_counters(self, info: dict[str, int]) -> tuple[float, float, float] | None:
        """(used, swapped-in, swapped-out) bytes: /proc/meminfo + /proc/vmstat, else psutil."""
        text = self._vmstat.read() or ""
        sin, sout = vmstat_value(text, "pswpin"), vmstat_value(text, "pswpout")
        if "SwapTotal" in info and "SwapFree" in info and sin is not None and sout is not None:
            return (
                float(info["SwapTotal"] - info["SwapFree"]),
                float(sin * PAGE_SIZE),
                float(sout * PAGE_SIZE),
            )
        try:
            sw = psutil.swap_memory()
        except (OSError, RuntimeError):
            return None
        return float(sw.used), float(sw.sin), float(sw.sout)

    def _swap(self, t_ns: int, info: dict[str, int], values: Values) -> None:
        counters = self._swap_counters(info)
        if counters is None:
            return
        used, sin, sout = counters
        values["mem.swap_used_mb"] = round(used / MB, 1)
        prev, self._prev_swap = self._prev_swap, (t_ns, sin, sout)
        if prev is not None and t_ns > prev[0]:
            dt = (t_ns - prev[0]) / 1e9
            values["mem.swap_in_mb_s"] = round(max(0.0, sin - prev[1]) / MB / dt, 3)
            values["mem.swap_out_mb_s"] = round(max(0.0, sout - prev[2]) / MB / dt, 3)
        else:
            values["mem.swap_in_mb_s"] = values["mem.swap_out_mb_s"] = None

    def _process(self, label: str, pid: int, t_ns: int, values: Values) -> None:
        p = f"proc.{label}."
        tracked = self._tracked.get(label)
        if tracked is None or tracked.pid != pid:
            if tracked is not None:
                tracked.close()
            self._tracked[label] = tracked = _Tracked(self.root, pid)
            for key in ("minor_faults", "major_faults", "ctx_involuntary"):
                self._counter.delta(p + key, None)
            self._prev_cpu.pop(label, None)
        text = tracked.stat.read()
        st = None if text is None else parse_stat(pid, text)
        if st is None:
            self._psutil_process(pid, p, values)
            return
        values[p + "rss_mb"] = round(st.rss_bytes / MB, 2)
        status = tracked.status.read()
        switches = None if status is None else parse_involuntary_switches(status)
        values[p + "ctx_involuntary.delta"] = self._counter.delta(
            p + "ctx_involuntary", None if switches is None else float(switches)
        )
        values[p + "minor_faults.delta"] = self._counter.delta(p + "minor_faults", float(st.minflt))
        values[p + "major_faults.delta"] = self._counter.delta(p + "major_faults", float(st.majflt))
        prev = self._prev_cpu.get(label)
        self._prev_cpu[label] = (t_ns, st.cpu_s)
        if prev is not None and t_ns > prev[0]:
            values[p + "cpu_percent"] = round(
                100.0 * max(0.0, st.cpu_s - prev[1]) / ((t_ns - prev[0]) / 1e9), 2
            )
        else:
            values[p + "cpu_percent"] = None

    def _psutil_process(self, pid: int, p: str, values: Values) -> None:
        """RSS of a process whose /proc stat file cannot be read (gone: None; not Linux: psutil)."""
        if self._procfs:
            values[p + "rss_mb"] = None
            return
        try:
            values[p + "rss_mb"] = round(psutil.Process(pid).memory_info().rss / MB, 2)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            values[p + "rss_mb"] = None

    def sample(self, t_ns: int) -> MonitorReading:
        """System memory now, swap rates since the previous sample, and each engine process."""
        text = self._meminfo.read()
        info = parse_meminfo(text) if text is not None else {}
        values: Values = memory_values(info or None)
        if self._n % self.swap_every == 0:
            self._swap(t_ns, info, values)
        self._n += 1
        with self._lock:
            pids = dict(self._pids)
        for label in [x for x in self._tracked if x not in pids]:
            self._tracked.pop(label).close()
        for label, pid in pids.items():
            self._process(label, pid, t_ns, values)
        return self.reading(t_ns, values)

    def close(self) -> None:
        """Close every kept /proc file."""
        self._meminfo.close()
        self._vmstat.close()
        for tracked in self._tracked.values():
            tracked.close()
        self._tracked.clear()
