"""Environment fingerprint: what machine, OS, Python and packages a session ran on (JSON-serialisable)."""

from __future__ import annotations

import glob
import importlib.metadata
import os
import platform
import socket
import sys
from typing import Any

import psutil

from infbench.monitors.base import read_int, read_text, under

PACKAGES = (
    "infbench-tui",
    "numpy",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "torch",
    "transformers",
    "textual",
    "psutil",
    "nvidia-ml-py",
)
MB = 1024.0 * 1024.0


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent), read from metadata without importing it."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _cpuinfo(root: str) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in (read_text(under(root, "/proc/cpuinfo")) or "").splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key and key not in info:
            info[key] = value.strip()
        if not line.strip() and info:
            break
    return info


def cpu_facts(root: str = "/") -> dict[str, Any]:
    """Model, core counts, governor/driver, turbo, max frequency, isolated CPUs, virtualisation."""
    info = _cpuinfo(root)
    cpu = "/sys/devices/system/cpu"
    governors = sorted(
        {
            (read_text(p) or "").strip()
            for p in glob.glob(under(root, cpu + "/cpu[0-9]*/cpufreq/scaling_governor"))
        }
        - {""}
    )
    no_turbo = read_int(under(root, cpu + "/intel_pstate/no_turbo"))
    boost = read_int(under(root, cpu + "/cpufreq/boost"))
    turbo = (not no_turbo) if no_turbo is not None else (bool(boost) if boost is not None else None)
    max_khz = read_int(under(root, cpu + "/cpu0/cpufreq/cpuinfo_max_freq"))
    hyper = (read_text(under(root, "/sys/hypervisor/type")) or "").strip() or None
    return {
        "model": info.get("model name") or platform.processor() or platform.machine(),
        "logical_cores": psutil.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "governors": governors or None,
        "scaling_driver": (read_text(under(root, cpu + "/cpu0/cpufreq/scaling_driver")) or "").strip()
        or None,
        "turbo": turbo,
        "max_mhz": max_khz / 1000.0 if max_khz else None,
        "cpuinfo_mhz": float(info["cpu MHz"])
        if info.get("cpu MHz", "").replace(".", "", 1).isdigit()
        else None,
        "isolated": (read_text(under(root, cpu + "/isolated")) or "").strip() or None,
        "virtual": bool(hyper) or "hypervisor" in info.get("flags", "").split(),
        "hypervisor": hyper,
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


def _os_release(root: str) -> str | None:
    for line in (read_text(under(root, "/etc/os-release")) or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def system_fingerprint(gpu: bool = True, root: str = "/") -> dict[str, Any]:
    """Everything a session file needs to say where it was measured (plain JSON types only).

    Args:
        gpu: include NVML facts (initialises NVML once; ~60 ms to find that it is missing).
        root: where /proc and /sys live (tests).
    """
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    try:
        battery = psutil.sensors_battery()
    except (OSError, RuntimeError, AttributeError):
        battery = None
    from infbench.monitors.system import find_cgroup_cpu

    _, cg_version, quota, _ = find_cgroup_cpu(root)
    out: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu": cpu_facts(root),
        "memory": {
            "total_mb": round(vm.total / MB, 1),
            "available_mb": round(vm.available / MB, 1),
            "swap_total_mb": round(sw.total / MB, 1),
            "swap_used_mb": round(sw.used / MB, 1),
        },
        "os": {
            "system": platform.system(),
            "kernel": platform.release(),
            "platform": platform.platform(),
            "distro": _os_release(root),
        },
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "packages": package_versions(),
        "power": None
        if battery is None
        else {"on_battery": not battery.power_plugged, "percent": battery.percent},
        "cgroup": {"version": cg_version or None, "cpu_quota": quota},
        "load1": psutil.getloadavg()[0],
    }
    if gpu:
        from infbench.monitors.nvidia import gpu_inventory

        out["gpu"] = gpu_inventory()
    return out
