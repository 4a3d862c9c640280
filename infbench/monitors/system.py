"""Machine-wide contention: CPU pressure (PSI), cgroup CPU-quota throttling, and noisy-neighbour processes.

`monitors.fingerprint.system_fingerprint()` describes the machine for session files and `doctor`.
"""

from __future__ import annotations

import os

from infbench.monitors.base import (
    Counter,
    KeptFile,
    Monitor,
    MonitorReading,
    Probe,
    Values,
    parse_keyed,
    read_text,
    under,
    why_unreadable,
)
from infbench.monitors.procstat import ProcScanner, scan_all

__all__ = ["OtherProcessesMonitor", "PressureMonitor", "find_cgroup_cpu"]

PRESSURE = "/proc/pressure/cpu"


def parse_pressure(text: str) -> tuple[float, int] | None:
    """(some avg10 %, some total µs) from `/proc/pressure/cpu` content."""
    for line in text.splitlines():
        if line.startswith("some "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            try:
                return float(fields["avg10"]), int(fields["total"])
            except (KeyError, ValueError):
                return None
    return None


def find_cgroup_cpu(root: str = "/") -> tuple[str | None, int, float | None, str]:
    """Locate this process's cgroup CPU accounting under `root`.

    Returns:
        (path of cpu.stat or None, cgroup version 1/2, quota in CPUs or None when unlimited, reason if None).
    """
    text = read_text(under(root, "/proc/self/cgroup")) or ""
    v1_path = v2_path = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2_path = parts[2]
        elif "cpu" in parts[1].split(","):
            v1_path = parts[2]
    fs = under(root, "/sys/fs/cgroup")
    if v1_path is not None:
        for mount in ("cpu,cpuacct", "cpu", "cpuacct,cpu"):
            for rel in (v1_path.lstrip("/"), ""):
                d = os.path.join(fs, mount, rel)
                stat = os.path.join(d, "cpu.stat")
                if "nr_throttled" in parse_keyed(read_text(stat) or ""):
                    quota = _v1_quota(d)
                    return stat, 1, quota, ""
    if v2_path is not None:
        for rel in (v2_path.lstrip("/"), ""):
            d = os.path.join(fs, rel)
            stat = os.path.join(d, "cpu.stat")
            if "nr_throttled" in parse_keyed(read_text(stat) or ""):
                return stat, 2, _v2_quota(d), ""
    if not text:
        return None, 0, None, "no /proc/self/cgroup"
    why = why_unreadable(
        os.path.join(fs, (v2_path or "").lstrip("/"), "cpu.stat"), "/sys/fs/cgroup/…/cpu.stat"
    )
    return None, 0, None, why or "cgroup cpu controller not enabled here (no nr_throttled in cpu.stat)"


def _v1_quota(d: str) -> float | None:
    q = parse_int(read_text(os.path.join(d, "cpu.cfs_quota_us")))
    p = parse_int(read_text(os.path.join(d, "cpu.cfs_period_us")))
    return q / p if q and q > 0 and p else None


def _v2_quota(d: str) -> float | None:
    parts = (read_text(os.path.join(d, "cpu.max")) or "").split()
    if len(parts) == 2 and parts[0] != "max":
        q, p = parse_int(parts[0]), parse_int(parts[1])
        return q / p if q and p else None
    return None


def parse_int(text: str | None) -> int | None:
    """int of stripped text, or None."""
    try:
        return int((text or "").strip())
    except ValueError:
        return None


class PressureMonitor(Monitor):
    """`/proc/pressure/cpu` and cgroup `cpu.stat` throttling (v1 ``throttled_time`` ns or v2 ``throttled_usec``)."""

    name = "pressure"

    def __init__(self, root: str = "/", rate_hz: float = 2.0) -> None:
        self.root = root
        self.rate_hz = rate_hz
        self._pressure = under(root, PRESSURE)
        self._pressure_file = KeptFile(self._pressure, 4096)
        self._stat: str | None = None
        self._stat_file: KeptFile | None = None
        self._version = 0
        self._quota: float | None = None
        self._has_pressure = False
        self._counter = Counter()

    def probe(self) -> Probe:
        """PSI needs a kernel with CONFIG_PSI; cgroup throttling needs the cpu controller."""
        available: list[str] = []
        missing: dict[str, str] = {}
        text = read_text(self._pressure)
        self._has_pressure = bool(text and parse_pressure(text))
        if self._has_pressure:
            available.append("cpu.pressure")
        else:
            missing["cpu.pressure"] = (
                why_unreadable(self._pressure, PRESSURE) or "kernel without PSI (boot with psi=1)"
            )
        self._stat, self._version, self._quota, reason = find_cgroup_cpu(self.root)
        self._stat_file = KeptFile(self._stat, 4096) if self._stat else None
        if self._stat:
            available.append("cgroup.throttled")
        else:
            missing["cgroup.throttled"] = reason
        return Probe(self.name, available, missing)

    def sample(self, t_ns: int) -> MonitorReading:
        """Pressure now; cgroup throttle counters and their increase since the previous sample."""
        values: Values = {}
        if self._has_pressure:
            parsed = parse_pressure(self._pressure_file.read() or "")
            if parsed is not None:
                values["cpu.pressure.some_avg10"] = parsed[0]
                values["cpu.pressure.some_total_us"] = float(parsed[1])
                values["cpu.pressure.some_total_us.delta"] = self._counter.delta("psi", float(parsed[1]))
        if self._stat_file is not None:
            stat = parse_keyed(self._stat_file.read() or "")
            nr = stat.get("nr_throttled")
            usec = stat.get("throttled_usec") if self._version == 2 else None
            if usec is None and "throttled_time" in stat:
                usec = stat["throttled_time"] // 1000
            for key, v in (("cgroup.nr_throttled", nr), ("cgroup.throttled_usec", usec)):
                fv = None if v is None else float(v)
                values[key] = fv
                values[key + ".delta"] = self._counter.delta(key, fv)
            if self._quota is not None:
                values["cgroup.quota_cpus"] = self._quota
        return self.reading(t_ns, values)

    def close(self) -> None:
        """Close the kept files."""
        self._pressure_file.close()
        if self._stat_file is not None:
            self._stat_file.close()


class OtherProcessesMonitor(Monitor):
    """CPU use of every process that is not ours (this process, its descendants, the engines): total and top 3.

    Scans `/proc/*/stat` directly, keeping each file open between scans (`ProcScanner`; psutil.process_iter
    costs ~3× more), at 0.5 Hz.
    """

    name = "others"

    def __init__(
        self, root: str = "/", rate_hz: float = 0.5, self_pid: int | None = None, top: int = 3
    ) -> None:
        self.root = root
        self.rate_hz = rate_hz
        self.self_pid = os.getpid() if self_pid is None else self_pid
        self.top = top
        self._engines: set[int] = set()
        self._prev: dict[int, float] | None = None
        self._prev_t: int | None = None
        self._scanner = ProcScanner(root)

    def set_processes(self, pids: dict[str, int]) -> None:
        """Engine processes count as ours."""
        self._engines = set(pids.values())

    def probe(self) -> Probe:
        """Needs a readable /proc."""
        if scan_all(self.root):
            return Probe(self.name, ["other.cpu_percent", "other.top"], {})
        return Probe(
            self.name,
            [],
            {self.name: why_unreadable(under(self.root, "/proc/1/stat"), "/proc") or "no readable /proc"},
        )

    def _ours(self, stats: dict) -> set[int]:
        ours = {self.self_pid, *self._engines}
        children: dict[int, list[int]] = {}
        for st in stats.values():
            children.setdefault(st.ppid, []).append(st.pid)
        stack = list(ours)
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in ours:
                    ours.add(child)
                    stack.append(child)
        return ours

    def sample(self, t_ns: int) -> MonitorReading:
        """CPU % (100 = one core) since the previous sample; None on the first one."""
        stats = self._scanner.scan()
        prev, prev_t = self._prev, self._prev_t
        self._prev = {pid: st.cpu_s for pid, st in stats.items()}
        self._prev_t = t_ns
        values: Values = {"other.cpu_percent": None}
        ranked: list[tuple[float, int, str]] = []
        if prev is not None and prev_t is not None and t_ns > prev_t:
            dt = (t_ns - prev_t) / 1e9
            ours = self._ours(stats)
            total = 0.0
            for pid, st in stats.items():
                if pid in ours:
                    continue
                # a process new since the last scan spent (nearly) all its CPU time in this interval
                used = st.cpu_s - prev.get(pid, 0.0)
                if used > 0:
                    pct = 100.0 * used / dt
                    total += pct
                    ranked.append((pct, pid, st.name))
            values["other.cpu_percent"] = round(total, 2)
        ranked.sort(reverse=True)
        for k in range(self.top):
            if k < len(ranked):
                pct, pid, name = ranked[k]
                values[f"other.top.{k}.name"] = name
                values[f"other.top.{k}.pid"] = float(pid)
                values[f"other.top.{k}.cpu_percent"] = round(pct, 2)
            else:
                values[f"other.top.{k}.name"] = None
                values[f"other.top.{k}.pid"] = None
                values[f"other.top.{k}.cpu_percent"] = None
        return self.reading(t_ns, values)

    def close(self) -> None:
        """Close the kept /proc files."""
        self._scanner.close()
