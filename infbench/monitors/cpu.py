"""CPU utilisation (per core, steal, iowait, load) at 10 Hz and CPU frequency (current vs max) at ≤ 1 Hz."""

from __future__ import annotations

import functools
import glob
import os
import re
from typing import Any

import psutil

from infbench.monitors.base import (
    KeptFile,
    Monitor,
    MonitorReading,
    Probe,
    Values,
    read_int,
    under,
    why_unreadable,
)

CPUFREQ0 = "/sys/devices/system/cpu/cpu0/cpufreq"


def _busy_total(t: Any) -> tuple[float, float]:
    """(busy, total) seconds of one psutil cputimes tuple, the way psutil.cpu_percent counts them."""
    total = sum(t)
    # guest time is already included in user/nice on Linux
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return total - idle, total


_STAT_BYTES = 512 + 160 * (os.cpu_count() or 1)  # a cpuN line is < 160 bytes even with 20-digit counters


def parse_proc_stat(text: str) -> list[tuple[int, int, int, int]] | None:
    """(busy, total, steal, iowait) jiffies per CPU from /proc/stat content, or None when malformed.

    Counted as psutil does: total excludes guest time (already inside user/nice); busy excludes idle and iowait.
    Written for few steps: it runs right after the sampler's sleep, when every step costs several times more.
    """
    out = []
    for line in text.split("\n")[1:]:  # line 0 is the all-CPU sum
        if line[:3] != "cpu":
            break
        f = line.split(None, 9)
        try:
            idle, iowait, steal = int(f[4]), int(f[5]), int(f[8])
            busy = int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7]) + steal
        except (IndexError, ValueError):
            return None
        out.append((busy, busy + idle + iowait, steal, iowait))
    return out or None


class CpuMonitor(Monitor):
    """Per-core and total utilisation, steal, iowait and load1.

    On Linux one pread of a kept-open /proc/stat per sample (the cheapest source: psutil's per-core tuples cost
    ~4x more at 10 Hz); elsewhere `psutil.cpu_times(percpu=True)`. The load average is read once a second: the
    kernel recomputes it only every 5 s.
    """

    name = "cpu"

    def __init__(self, rate_hz: float = 10.0, stat_path: str = "/proc/stat") -> None:
        self.rate_hz = rate_hz
        self.stat_path = stat_path
        self._prev_fast: list[tuple] | None = None
        self._file = KeptFile(stat_path, _STAT_BYTES)
        self._fast = self._file.read() is not None
        self._load_every = max(1, round(rate_hz))
        self._n = 0

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
        """Utilisation since the previous sample (None on the very first one); load1 on every rate_hz-th."""
        now = self._read()
        prev, self._prev_fast = self._prev_fast, now
        values: Values = utilisation(prev, now)
        if self._n % self._load_every == 0:
            values["cpu.load1"] = os.getloadavg()[0]
        self._n += 1
        return self.reading(t_ns, values)

    def close(self) -> None:
        """Close /proc/stat."""
        self._file.close()

    def _read(self) -> list[tuple] | None:
        """(busy, total, steal, iowait) per CPU: /proc/stat jiffies when readable, else psutil seconds."""
        if self._fast:
            text = self._file.read()
            return None if text is None else parse_proc_stat(text)
        return [
            (*_busy_total(t), getattr(t, "steal", 0.0), getattr(t, "iowait", 0.0))
            for t in psutil.cpu_times(percpu=True)
        ]


@functools.lru_cache(maxsize=4)
def _core_keys(n: int) -> tuple[str, ...]:
    return tuple(f"cpu.util.{i}" for i in range(n))


def _pct(part: float, whole: float) -> float:
    """100·part/whole rounded to 2 decimals (arithmetic, not round(): cheaper right after a sleep)."""
    return int(10000.0 * part / whole + 0.5) / 100.0 if whole > 0 and part > 0 else 0.0


def utilisation(prev: list[tuple] | None, now: list[tuple] | None) -> Values:
    """Per-CPU and total utilisation, steal and iowait (%) between two (busy, total, steal, iowait) readings."""
    values: Values = {}
    if now is None or prev is None or len(prev) != len(now):
        values["cpu.util.total"] = None
        return values
    busy_sum = total_sum = steal = iowait = 0
    for key, a, b in zip(_core_keys(len(now)), prev, now):
        d_tot, d_busy = b[1] - a[1], b[0] - a[0]
        values[key] = _pct(d_busy, d_tot)
        if d_busy > 0:
            busy_sum += d_busy
        if d_tot > 0:
            total_sum += d_tot
        steal += b[2] - a[2]
        iowait += b[3] - a[3]
    values["cpu.util.total"] = _pct(busy_sum, total_sum)
    values["cpu.steal"] = _pct(steal, total_sum)
    values["cpu.iowait"] = _pct(iowait, total_sum)
    return values


def read_sysfs_freqs(root: str) -> list[tuple[float, float]]:
    """(current, max) MHz per CPU from `cpu*/cpufreq` under `root`; the same files psutil.cpu_freq reads."""
    out: list[tuple[float, float]] = []
    base = under(root, "/sys/devices/system/cpu")
    cpus = sorted(
        (int(m.group(1)), p)
        for p in glob.glob(os.path.join(base, "cpu[0-9]*"))
        if (m := re.search(r"cpu(\d+)$", p))
    )
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
