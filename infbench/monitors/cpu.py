"""CPU utilisation (per core, steal, iowait, load) at 10 Hz and CPU frequency (current vs max) at ≤ 1 Hz."""

from __future__ import annotations

import glob
import os
import re
from typing import Any

import psutil

from infbench.monitors.base import Monitor, MonitorReading, Probe, Values, read_int, under, why_unreadable

CPUFREQ0 = "/sys/devices/system/cpu/cpu0/cpufreq"


def _busy_total(t: Any) -> tuple[float, float]:
    """(busy, total) seconds of one psutil cputimes tuple, the way psutil.cpu_percent counts them."""
    total = sum(t)
    # guest time is already included in user/nice on Linux
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return total - idle, total


_STAT_BYTES = 512 + 160 * (os.cpu_count() or 1)  # a cpuN line is < 160 bytes even with 20-digit counters


def read_proc_stat(path: str = "/proc/stat") -> list[tuple[int, int, int, int]] | None:
    """(busy, total, steal, iowait) jiffies per CPU from /proc/stat with one read, or None when unreadable.

    Counted as psutil does: total excludes guest time (already inside user/nice); busy excludes idle and iowait.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            # The per-CPU lines come first; the rest (a huge `intr` line) is not needed, so read only enough.
            text = os.read(fd, _STAT_BYTES).decode("ascii", "replace")
        finally:
            os.close(fd)
    except OSError:
        return None
    out = []
    for line in text.splitlines():
        if not line.startswith("cpu"):
            break
        if line.startswith("cpu "):
            continue
        f = [int(x) for x in line.split()[1:9]]
        if len(f) < 8:
            return None
        total = sum(f)
        out.append((total - f[3] - f[4], total, f[7], f[4]))
    return out or None


class CpuMonitor(Monitor):
    """Per-core and total utilisation, steal, iowait and load1.

    On Linux one read of /proc/stat per sample (about 4x cheaper than psutil's per-core tuples at 10 Hz);
    elsewhere `psutil.cpu_times(percpu=True)`.
    """

    name = "cpu"

    def __init__(self, rate_hz: float = 10.0, stat_path: str = "/proc/stat") -> None:
        self.rate_hz = rate_hz
        self.stat_path = stat_path
        self._prev_fast: list[tuple] | None = None
        self._fast = read_proc_stat(stat_path) is not None

    def probe(self) -> Probe:
        """Utilisation and load are always there on Linux; steal only under a kernel that reports it."""
        times = psutil.cpu_times(percpu=True)
        self._prev_fast = self._read()
        available = ["cpu.util", "cpu.iowait", "cpu.load1"]
        missing = {}
        if times and hasattr(times[0], "steal"):
            available.append("cpu.steal")
        else:
            missing["cpu.steal"] = "not reported by this OS"
        return Probe(self.name, available, missing)

    def sample(self, t_ns: int) -> MonitorReading:
        """Utilisation since the previous sample (None on the very first one)."""
        now = self._read()
        prev, self._prev_fast = self._prev_fast, now
        values: Values = utilisation(prev, now)
        values["cpu.load1"] = os.getloadavg()[0]
        return self.reading(t_ns, values)

    def _read(self) -> list[tuple[float, float, float, float]] | None:
        """(busy, total, steal, iowait) per CPU: /proc/stat when readable, else psutil."""
        if self._fast:
            return read_proc_stat(self.stat_path)
        return [(*_busy_total(t), getattr(t, "steal", 0.0), getattr(t, "iowait", 0.0))
                for t in psutil.cpu_times(percpu=True)]


def utilisation(prev: list[tuple] | None, now: list[tuple] | None) -> Values:
    """Per-CPU and total utilisation, steal and iowait (%) between two (busy, total, steal, iowait) readings."""
    values: Values = {}
    if now is None or prev is None or len(prev) != len(now):
        values["cpu.util.total"] = None
        return values
    busy_sum = total_sum = steal = iowait = 0.0
    for i, (a, b) in enumerate(zip(prev, now)):
        d_tot = b[1] - a[1]
        d_busy = max(0, b[0] - a[0])
        values[f"cpu.util.{i}"] = round(100.0 * d_busy / d_tot, 2) if d_tot > 0 else 0.0
        busy_sum += d_busy
        total_sum += max(0, d_tot)
        steal += max(0, b[2] - a[2])
        iowait += max(0, b[3] - a[3])
    ok = total_sum > 0
    values["cpu.util.total"] = round(100.0 * busy_sum / total_sum, 2) if ok else 0.0
    values["cpu.steal"] = round(100.0 * steal / total_sum, 2) if ok else 0.0
    values["cpu.iowait"] = round(100.0 * iowait / total_sum, 2) if ok else 0.0
    return values


def read_sysfs_freqs(root: str) -> list[tuple[float, float]]:
    """(current, max) MHz per CPU from `cpu*/cpufreq` under `root`; the same files psutil.cpu_freq reads."""
    out: list[tuple[float, float]] = []
    base = under(root, "/sys/devices/system/cpu")
    cpus = sorted((int(m.group(1)), p) for p in glob.glob(os.path.join(base, "cpu[0-9]*"))
                  if (m := re.search(r"cpu(\d+)$", p)))
    for _, path in cpus:
        cur = read_int(os.path.join(path, "cpufreq", "scaling_cur_freq"))
        if cur is None:
            cur = read_int(os.path.join(path, "cpufreq", "cpuinfo_cur_freq"))
        mx = read_int(os.path.join(path, "cpufreq", "scaling_max_freq"))
        if mx is None:
            mx = read_int(os.path.join(path, "cpufreq", "cpuinfo_max_freq"))
        if cur is not None:
            out.append((cur / 1000.0, (mx or 0) / 1000.0))
    return out


class CpuFreqMonitor(Monitor):
    """CPU frequency per core, mean, and the max allowed (psutil at root ``/``, sysfs under another root).

    Reading every core's frequency is the costliest CPU read on big machines, hence 1 Hz up to 16 CPUs and 0.5 Hz
    above (pass `rate_hz` to override).
    """

    name = "cpufreq"

    def __init__(self, root: str = "/", rate_hz: float | None = None) -> None:
        self.root = root
        ncpu = os.cpu_count() or 1
        self.rate_hz = rate_hz if rate_hz is not None else (1.0 if ncpu <= 16 else 0.5)

    def _read(self) -> list[tuple[float, float]]:
        if self.root in ("", "/"):
            freqs = psutil.cpu_freq(percpu=True) or []
            return [(f.current, f.max) for f in freqs]
        return read_sysfs_freqs(self.root)

    def probe(self) -> Probe:
        """Which of current/max frequency this machine reports."""
        freqs = self._read()
        available: list[str] = []
        missing: dict[str, str] = {}
        why = why_unreadable(under(self.root, CPUFREQ0 + "/scaling_cur_freq"), CPUFREQ0)
        if freqs and any(cur > 0 for cur, _ in freqs):
            available.append("cpu.freq_mhz")
        else:
            missing["cpu.freq_mhz"] = why or "not reported"
        if freqs and any(mx > 0 for _, mx in freqs):
            available.append("cpu.freq_max_mhz")
        else:
            missing["cpu.freq_max_mhz"] = why or "max frequency not reported"
        return Probe(self.name, available, missing)

    def sample(self, t_ns: int) -> MonitorReading:
        """Current MHz of each CPU, their mean, and the highest max."""
        freqs = self._read()
        values: Values = {}
        for i, (cur, _) in enumerate(freqs):
            values[f"cpu.freq_mhz.{i}"] = round(cur, 1)
        if freqs:
            values["cpu.freq_mhz"] = round(sum(c for c, _ in freqs) / len(freqs), 1)
            mx = max(m for _, m in freqs)
            values["cpu.freq_max_mhz"] = round(mx, 1) if mx > 0 else None
        return self.reading(t_ns, values)
