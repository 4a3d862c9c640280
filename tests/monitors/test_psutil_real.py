"""Real readings on this machine: structure and ranges, not timing."""

from __future__ import annotations

import os
import time

from infbench.monitors.cpu import CpuFreqMonitor, CpuMonitor
from infbench.monitors.memory import MemoryMonitor
from infbench.monitors.system import OtherProcessesMonitor, PressureMonitor
from infbench.monitors.thermal import ThermalMonitor


def _two(monitor, pause: float = 0.05):
    probe = monitor.probe()
    monitor.sample(time.perf_counter_ns())
    time.sleep(pause)
    return probe, monitor.sample(time.perf_counter_ns())


def test_cpu_utilisation_per_core_and_total() -> None:
    probe, r = _two(CpuMonitor())
    assert "cpu.util" in probe.available and r.source == "cpu"
    n = os.cpu_count()
    for key in ["cpu.util.total", "cpu.steal", "cpu.iowait"] + [f"cpu.util.{i}" for i in range(n)]:
        assert 0.0 <= r.values[key] <= 100.0, key


def test_load_average_once_a_second_at_10_hz() -> None:
    m = CpuMonitor(rate_hz=10)
    m.probe()
    loads = [m.sample(i).values.get("cpu.load1") for i in range(21)]
    assert [i for i, v in enumerate(loads) if v is not None] == [0, 10, 20]
    assert loads[0] >= 0


def test_memory_and_our_own_process() -> None:
    m = MemoryMonitor(swap_every=1)
    m.set_processes({"me": os.getpid()})
    _, r = _two(m)
    v = r.values
    assert v["mem.used_mb"] > 0 and v["mem.available_mb"] > 0 and 0 < v["mem.percent"] <= 100
    assert v["mem.swap_used_mb"] >= 0 and v["mem.swap_in_mb_s"] >= 0 and v["mem.swap_out_mb_s"] >= 0
    assert 1 < v["proc.me.rss_mb"] < 100_000
    assert v["proc.me.cpu_percent"] >= 0
    for key in ("minor_faults", "major_faults", "ctx_involuntary"):
        assert v[f"proc.me.{key}.delta"] >= 0


def test_gone_process_reads_none() -> None:
    m = MemoryMonitor()
    m.set_processes({"ghost": 2**22 + 12345})
    m.probe()
    assert m.sample(1).values["proc.ghost.rss_mb"] is None


def test_other_processes_exclude_ours() -> None:
    m = OtherProcessesMonitor()
    _, r = _two(m, 0.2)
    v = r.values
    assert v["other.cpu_percent"] >= 0
    pids = [v[f"other.top.{k}.pid"] for k in range(3) if v[f"other.top.{k}.pid"] is not None]
    assert os.getpid() not in pids
    for k in range(3):  # a ranked slot holds a process (pid and name) or nothing at all
        name, pid = v[f"other.top.{k}.name"], v[f"other.top.{k}.pid"]
        if pid is None:
            assert name is None and v[f"other.top.{k}.cpu_percent"] is None, k
        else:
            assert isinstance(name, str) and name and pid > 0 and pid == int(pid), k


def test_probes_on_this_machine_say_why() -> None:
    sensors = {
        "cpufreq": (CpuFreqMonitor(), {"cpu.freq_mhz", "cpu.freq_max_mhz"}),
        "pressure": (PressureMonitor(), {"cpu.pressure", "cgroup.throttled"}),
        "thermal": (ThermalMonitor(), {"temp", "cpu.throttle.core_count", "cpu.throttle.package_count"}),
    }
    for name, (m, expected) in sensors.items():
        p = m.probe()
        # every sensor of the monitor is either available or missing with a reason: never both, never neither
        assert p.monitor == name and not set(p.available) & set(p.missing), name
        assert set(p.available) | set(p.missing) == expected, name
        assert all(isinstance(reason, str) and reason for reason in p.missing.values())
