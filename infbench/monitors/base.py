"""Monitor protocol, probe results, and the metric catalogue every consumer (recorder, analysis, TUI) relies on.

A monitor reads one part of the machine at its own rate. The sampler (`monitors/sampler.py`) calls
`sample(t_ns)` with one `perf_counter_ns` timestamp shared by all monitors of a tick. `probe()` says what this
machine exposes and, for each missing sensor, why ("no driver", "VM without sysfs node /sys/…",
"permission denied"); the sampler turns each missing sensor into one ``sensor`` event at start.

Values are flat: metric name → float (int for bitmasks), str (names) or None (unreadable at this instant).
Metrics slower than their monitor's rate appear only in some readings; consumers keep each metric's latest value.
Counters are cumulative; ``<counter>.delta`` is the increase since the previous sample of that monitor (None
on the first sample). Rates are per second over the interval since the previous sample.

Metric catalogue (``<i>`` = core or GPU index, ``<label>`` = engine label, ``<k>`` = rank 0..2):

CPU (`cpu.py`, `thermal.py`, `system.py`)
    ``cpu.util.total``, ``cpu.util.<i>`` (% busy), ``cpu.steal``, ``cpu.iowait`` (% of all CPU time),
    ``cpu.load1`` (in one CPU reading a second: the kernel recomputes it every 5 s); ``cpu.freq_mhz`` (mean),
    ``cpu.freq_mhz.<i>``, ``cpu.freq_max_mhz``;
    ``cpu.pressure.some_avg10`` (%), ``cpu.pressure.some_total_us`` (counter) and ``…some_total_us.delta``;
    ``cgroup.nr_throttled``, ``cgroup.throttled_usec`` (counters), ``cgroup.nr_throttled.delta``,
    ``cgroup.throttled_usec.delta``, ``cgroup.quota_cpus`` (CPU quota in cores; absent = unlimited);
    ``cpu.throttle.core_count`` (sum over cores) and ``.delta``, ``cpu.throttle.package_count`` (sum over
    packages) and ``.delta``.
Temperatures (`thermal.py`)
    ``temp.<chip>.<label>`` (°C), ``temp.max_c`` (hottest sensor), ``temp.max_high_c`` (the "high" limit of the
    sensor nearest to its limit), ``temp.headroom_c`` (that limit minus that sensor's reading).
Memory and processes (`memory.py`, `system.py`)
    ``mem.used_mb``, ``mem.available_mb``, ``mem.percent``, ``mem.swap_used_mb``, ``mem.swap_in_mb_s``,
    ``mem.swap_out_mb_s``; per engine process ``proc.<label>.rss_mb``, ``proc.<label>.cpu_percent`` (100 = one
    core), ``proc.<label>.minor_faults.delta``, ``proc.<label>.major_faults.delta``,
    ``proc.<label>.ctx_involuntary.delta``; noisy neighbours ``other.cpu_percent`` (all processes that are not
    this one, its descendants or an engine; 100 = one core), ``other.top.<k>.name`` (str), ``other.top.<k>.pid``,
    ``other.top.<k>.cpu_percent``.
NVIDIA (`nvidia.py`)
    ``gpu<i>.util``, ``gpu<i>.mem_used_mb``, ``gpu<i>.mem_total_mb``, ``gpu<i>.temp_c``,
    ``gpu<i>.temp_slowdown_c``, ``gpu<i>.sm_clock_mhz``, ``gpu<i>.sm_clock_max_mhz``, ``gpu<i>.power_w``,
    ``gpu<i>.power_limit_w``, ``gpu<i>.clock_event_reasons`` (int bitmask masked by the supported set; name the
    bits with `clock_events.describe_clock_events`), ``gpu<i>.clock_event_alarm`` (1/0),
    ``gpu<i>.violation.power_us.delta``, ``gpu<i>.violation.thermal_us.delta``, ``gpu<i>.proc.<label>.mem_mb``,
    ``gpu<i>.other_procs`` (processes on the GPU that are not ours), ``gpu<i>.other_mem_mb``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from infbench.records import MonitorReading

Values = dict[str, "float | str | None"]

REASON_PERMISSION = "permission denied"


@dataclass(frozen=True)
class Probe:
    """What one monitor can read on this machine.

    Attributes:
        monitor: the monitor's name.
        available: sensors it can read.
        missing: sensor → why it cannot be read (the sensor equal to the monitor name means "all of it").
    """

    monitor: str
    available: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """True when at least one sensor can be read."""
        return bool(self.available)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"monitor": self.monitor, "available": list(self.available), "missing": dict(self.missing)}


class Monitor(ABC):
    """One source of machine readings, sampled by the sampler thread at `rate_hz`.

    Only the sampler thread calls `probe`, `sample` and `set_processes` once sampling runs.
    """

    name: str = "monitor"
    rate_hz: float = 1.0

    @abstractmethod
    def probe(self) -> Probe:
        """Find what this machine exposes (called once, before sampling)."""

    @abstractmethod
    def sample(self, t_ns: int) -> MonitorReading:
        """Read current values, stamped with the tick's `t_ns`."""

    def set_processes(self, pids: dict[str, int]) -> None:
        """Engine label → pid; monitors that track processes override this."""
        return None

    def close(self) -> None:
        """Release resources (called when sampling stops)."""
        return None

    def reading(self, t_ns: int, values: Values) -> MonitorReading:
        """Wrap `values` as this monitor's reading."""
        return MonitorReading(t_ns=t_ns, source=self.name, values=values)


def under(root: str, path: str) -> str:
    """`path` (absolute, e.g. ``/sys/…``) re-rooted under `root` (``/`` leaves it unchanged)."""
    if root in ("", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


def read_text(path: str, limit: int | None = None) -> str | None:
    """File content (its first `limit` bytes when given, in one read), or None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if limit is not None:
            return os.read(fd, limit).decode("utf-8", errors="replace")
        chunks = []
        while chunk := os.read(fd, 65536):  # raw reads: ~3x cheaper than open() for small sysfs files
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


class KeptFile:
    """A /proc or /sys file kept open and re-read from offset 0 with one `pread` per sample.

    procfs and sysfs regenerate a file's content on every read at offset 0, so the descriptor can be reused.
    On the VM we measured, right after the sampler's sleep, open+read+close of a /proc file costs ~100 µs of
    CPU and one pread on a kept descriptor ~50 µs (see BENCHMARKS.md, monitor sampler cost).

    Args:
        path: the file.
        size: the most bytes read (the rest of the file is cut off).
        reopen: open the path again after a failed read. Leave False for ``/proc/<pid>/…``: a kept descriptor
            stays tied to the process it was opened for, while the path may by then name a new process.
    """

    def __init__(self, path: str, size: int = 65536, reopen: bool = True) -> None:
        self.path = path
        self.size = size
        self.reopen = reopen
        self._fd: int | None = None
        self._dead = False

    def read(self) -> str | None:
        """The current content, or None when it cannot be read (now, or ever again when `reopen` is False)."""
        fd = self._fd
        if fd is None:
            if self._dead:
                return None
            try:
                fd = self._fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                self._dead = not self.reopen
                return None
        try:
            data = os.pread(fd, self.size, 0)
        except OSError:
            self.close()
            self._dead = not self.reopen
            return None
        return data.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Release the descriptor (a later `read` opens the file again, if `reopen` allows)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # also at interpreter exit, when os may be gone
            self.close()


def read_int(path: str) -> int | None:
    """The integer in a one-value file (sysfs style), or None."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def why_unreadable(path: str, shown: str | None = None) -> str | None:
    """None when `path` is readable, else a reason a user understands (`shown` is the path to print)."""
    shown = shown or path
    try:
        with open(path, "rb") as f:
            f.read(1)
        return None
    except PermissionError:
        return f"{REASON_PERMISSION} ({shown})"
    except IsADirectoryError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"no sysfs node {shown} (VM or kernel without it)"
        return f"{shown}: {exc.strerror}"


def parse_keyed(text: str) -> dict[str, int]:
    """Parse ``key value`` lines (cgroup ``cpu.stat``, ``/proc/vmstat``) into ints; bad lines are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


class Counter:
    """Remembers the previous value of each counter to report ``.delta`` (None first, and after a reset)."""

    def __init__(self) -> None:
        self._prev: dict[str, float] = {}

    def delta(self, key: str, value: float | None) -> float | None:
        """Increase of `key` since the last call; None first time, when unreadable, or if it went down."""
        if value is None:
            self._prev.pop(key, None)
            return None
        prev = self._prev.get(key)
        self._prev[key] = value
        if prev is None or value < prev:
            return None
        return value - prev
