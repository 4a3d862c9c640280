"""Pre-benchmark checks (`doctor`, and the TUI at start): a short live look plus warnings a user can act on."""

from __future__ import annotations

import time
from typing import Any

from infbench.monitors.cpu import CpuMonitor
from infbench.monitors.system import OtherProcessesMonitor


def live_look(seconds: float = 0.5) -> dict[str, Any]:
    """CPU utilisation, steal, iowait and other processes' CPU over `seconds`."""
    cpu, others = CpuMonitor(), OtherProcessesMonitor()
    cpu.probe()
    others.probe()
    others.sample(time.perf_counter_ns())
    time.sleep(seconds)
    t = time.perf_counter_ns()
    values = dict(cpu.sample(t).values)
    values.update(others.sample(t).values)
    return values


def environment_warnings(fp: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Warnings from a `system_fingerprint()` and a `live_look()`: each says what is wrong and why it matters."""
    out: list[str] = []
    cpu = fp.get("cpu") or {}
    govs = cpu.get("governors") or []
    if any(g != "performance" for g in govs):
        out.append(
            f"CPU governor is {'/'.join(govs)}, not 'performance': clocks scale with load and add "
            "variance (cpupower frequency-set -g performance)"
        )
    if cpu.get("turbo"):
        out.append("turbo/boost is on: clocks depend on temperature and on other cores' load")
    power = fp.get("power") or {}
    if power.get("on_battery"):
        out.append("running on battery: the OS may cap CPU/GPU power")
    other = live.get("other.cpu_percent")
    if isinstance(other, (int, float)) and other >= 10:
        top = ", ".join(
            f"{live.get(f'other.top.{k}.name')} (pid {int(live[f'other.top.{k}.pid'])}) "
            f"{live.get(f'other.top.{k}.cpu_percent'):.0f}%"
            for k in range(3)
            if live.get(f"other.top.{k}.pid") is not None
        )
        out.append(f"other processes use {other:.0f}% CPU (100% = one core): {top}")
    mem = fp.get("memory") or {}
    if (mem.get("swap_used_mb") or 0) > 0:
        out.append(f"swap in use ({mem['swap_used_mb']:.0f} MB): page-ins can stall inference")
    steal = live.get("cpu.steal")
    if isinstance(steal, (int, float)) and steal >= 1:
        out.append(f"steal time {steal:.1f}%: the hypervisor gives this VM's CPUs to others")
    quota = (fp.get("cgroup") or {}).get("cpu_quota")
    if quota:
        out.append(f"cgroup CPU quota of {quota:g} CPUs: bursts above it are throttled")
    if cpu.get("isolated") is None and (cpu.get("logical_cores") or 0) > 2:
        out.append("no isolated CPUs (isolcpus): the scheduler may move engines between cores")
    gpu = fp.get("gpu") or {}
    for dev in gpu.get("devices", []):
        name = f"gpu{dev['index']}"
        if dev.get("persistence_mode") == 0:
            out.append(f"{name}: persistence mode off: the driver may unload between runs (nvidia-smi -pm 1)")
        app, default = dev.get("app_clock_sm_mhz"), dev.get("default_app_clock_sm_mhz")
        if isinstance(app, int) and isinstance(default, int) and app != default:
            out.append(f"{name}: application SM clock {app} MHz differs from default {default} MHz")
        procs = dev.get("processes")
        if isinstance(procs, list) and procs:
            out.append(
                f"{name}: {len(procs)} other process(es) on the GPU using "
                f"{sum(p['mem_mb'] for p in procs):.0f} MB"
            )
    return out
