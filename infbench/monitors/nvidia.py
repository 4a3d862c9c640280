"""NVIDIA GPUs through NVML (`nvidia-ml-py`, imported as `pynvml` only when probed).

NVML is initialised once per process; a missing library ("NVML Shared Library Not Found", ~60 ms to find out)
is probed once and the verdict cached. Each NVML function is tried per device at probe time: one that is not
supported (or absent from the driver) makes only its metric missing, with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from infbench.monitors.base import REASON_PERMISSION, Counter, Monitor, MonitorReading, Probe, Values
from infbench.monitors.clock_events import ALARM_MASK, describe_clock_events, is_alarm

__all__ = ["NvidiaMonitor", "describe_clock_events", "gpu_inventory", "is_alarm", "load_nvml", "nvml_reason"]

MB = 1024.0 * 1024.0
_INIT: dict[int, tuple[ModuleType, str | None]] = {}
_INIT_LOCK = threading.Lock()


def nvml_reason(nv: Any, exc: BaseException) -> str:
    """A user-facing reason for an NVML error."""
    if isinstance(exc, nv.NVMLError_NotSupported):
        return "not supported by this GPU/driver"
    if isinstance(exc, nv.NVMLError_FunctionNotFound):
        return "function not found in this driver's NVML"
    if isinstance(exc, nv.NVMLError_NoPermission):
        return REASON_PERMISSION
    return f"NVML error: {exc}"


def load_nvml(nvml: ModuleType | None = None) -> tuple[ModuleType | None, str | None]:
    """(pynvml module, None) once NVML is initialised, or (module or None, reason). Cached per module."""
    nv: Any = nvml
    if nv is None:
        try:
            import pynvml

            nv = pynvml
        except ImportError:
            return None, "nvidia-ml-py (pynvml) not installed"
    with _INIT_LOCK:
        cached = _INIT.get(id(nv))
        if cached is not None and cached[0] is nv:
            return nv, cached[1]
        try:
            nv.nvmlInit()
            reason = None if nv.nvmlDeviceGetCount() > 0 else "no NVIDIA GPU"
        except nv.NVMLError as exc:
            reason = str(exc)
        _INIT[id(nv)] = (nv, reason)
        return nv, reason


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvidiaMonitor(Monitor):
    """Per GPU: utilisation, memory, temperature vs slowdown, SM clock vs max, power vs limit, clock-event
    reasons (masked by the supported set) with an alarm flag, violation time, and our engines' GPU memory."""

    name = "gpu"

    def __init__(self, rate_hz: float = 5.0, nvml: ModuleType | None = None) -> None:
        self.rate_hz = rate_hz
        self._nvml_arg = nvml
        self.nv: Any = None
        self._devices: list[tuple[int, Any, dict[str, Callable[[], Values]]]] = []
        self._supported: dict[int, int] = {}
        self._static: dict[int, Values] = {}
        self._pids: dict[int, str] = {}
        self._lock = threading.Lock()
        self._counter = Counter()

    def set_processes(self, pids: dict[str, int]) -> None:
        """Engine label → pid; their GPU memory is reported as ``gpu<i>.proc.<label>.mem_mb``."""
        with self._lock:
            self._pids = {pid: label for label, pid in pids.items()}

    def _readers(self, i: int, h: Any) -> dict[str, Callable[[], Values]]:
        nv, g = self.nv, f"gpu{i}."
        current_fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)

        def clocks() -> Values:
            nonlocal current_fn
            try:
                bits = (
                    int(current_fn(h)) if current_fn else int(nv.nvmlDeviceGetCurrentClocksThrottleReasons(h))
                )
            except nv.NVMLError_FunctionNotFound:
                current_fn = None
                bits = int(nv.nvmlDeviceGetCurrentClocksThrottleReasons(h))
            bits &= self._supported.get(i, ALARM_MASK | 0xFFFF)
            return {g + "clock_event_reasons": bits, g + "clock_event_alarm": 1 if is_alarm(bits) else 0}

        def violation(policy: int, key: str) -> Callable[[], Values]:
            def read() -> Values:
                ns = float(nv.nvmlDeviceGetViolationStatus(h, policy).violationTime)
                d = self._counter.delta(f"{i}.{key}", ns)
                return {g + f"violation.{key}_us.delta": None if d is None else round(d / 1000.0, 1)}

            return read

        def memory() -> Values:
            m = nv.nvmlDeviceGetMemoryInfo(h)
            return {g + "mem_used_mb": round(m.used / MB, 1), g + "mem_total_mb": round(m.total / MB, 1)}

        return {
            "util": lambda: {g + "util": float(nv.nvmlDeviceGetUtilizationRates(h).gpu)},
            "mem_used_mb": memory,
            "temp_c": lambda: {g + "temp_c": float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))},
            "sm_clock_mhz": lambda: {
                g + "sm_clock_mhz": float(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))
            },
            "power_w": lambda: {g + "power_w": nv.nvmlDeviceGetPowerUsage(h) / 1000.0},
            "power_limit_w": lambda: {g + "power_limit_w": nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0},
            "clock_event_reasons": clocks,
            "violation.power_us.delta": violation(nv.NVML_PERF_POLICY_POWER, "power"),
            "violation.thermal_us.delta": violation(nv.NVML_PERF_POLICY_THERMAL, "thermal"),
            "proc": lambda: self._procs(i, h),
        }

    def _procs(self, i: int, h: Any) -> Values:
        procs = self.nv.nvmlDeviceGetComputeRunningProcesses(h)
        with self._lock:
            ours = dict(self._pids)
        values: Values = {f"gpu{i}.proc.{label}.mem_mb": 0.0 for label in ours.values()}
        others, other_mb = 0, 0.0
        for p in procs:
            mb = round((p.usedGpuMemory or 0) / MB, 1)
            label = ours.get(p.pid)
            if label is not None:
                values[f"gpu{i}.proc.{label}.mem_mb"] = mb
            else:
                others += 1
                other_mb += mb
        values[f"gpu{i}.other_procs"] = float(others)
        values[f"gpu{i}.other_mem_mb"] = other_mb
        return values

    def _static_values(self, i: int, h: Any, missing: dict[str, str]) -> Values:
        nv, g = self.nv, f"gpu{i}."
        out: Values = {}
        calls = {
            "temp_slowdown_c": lambda: nv.nvmlDeviceGetTemperatureThreshold(
                h, nv.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN
            ),
            "sm_clock_max_mhz": lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_SM),
        }
        for key, call in calls.items():
            try:
                out[g + key] = float(call())
            except nv.NVMLError as exc:
                missing[g + key] = nvml_reason(nv, exc)
        try:
            fn = getattr(nv, "nvmlDeviceGetSupportedClocksEventReasons", None)
            try:
                self._supported[i] = (
                    int(fn(h)) if fn else int(nv.nvmlDeviceGetSupportedClocksThrottleReasons(h))
                )
            except nv.NVMLError_FunctionNotFound:
                self._supported[i] = int(nv.nvmlDeviceGetSupportedClocksThrottleReasons(h))
        except nv.NVMLError as exc:
            missing[g + "clock_event_reasons.supported"] = (
                nvml_reason(nv, exc) + " (current bits shown unmasked)"
            )
        return out

    def probe(self) -> Probe:
        """Initialise NVML (once), then try every reading on every device."""
        self.nv, reason = load_nvml(self._nvml_arg)
        if reason is not None:
            return Probe(self.name, [], {self.name: reason})
        nv = self.nv
        available: list[str] = []
        missing: dict[str, str] = {}
        self._devices = []
        for i in range(nv.nvmlDeviceGetCount()):
            try:
                h = nv.nvmlDeviceGetHandleByIndex(i)
            except nv.NVMLError as exc:
                missing[f"gpu{i}"] = nvml_reason(nv, exc)
                continue
            self._static[i] = self._static_values(i, h, missing)
            readers = {}
            for key, read in self._readers(i, h).items():
                try:
                    read()
                    readers[key] = read
                    available.append(f"gpu{i}.{key}")
                except nv.NVMLError as exc:
                    missing[f"gpu{i}.{key}"] = nvml_reason(nv, exc)
            self._devices.append((i, h, readers))
        return Probe(self.name, available, missing)

    def sample(self, t_ns: int) -> MonitorReading:
        """One value per available reading; a call that fails now gives None for its main metric."""
        values: Values = {}
        for i, _h, readers in self._devices:
            values.update(self._static.get(i, {}))
            for key, read in readers.items():
                try:
                    values.update(read())
                except self.nv.NVMLError:
                    values[f"gpu{i}.{key}"] = None
        return self.reading(t_ns, values)


def gpu_inventory(nvml: ModuleType | None = None) -> dict[str, Any]:
    """Driver and per-device facts for the fingerprint and `doctor`: name, memory, persistence mode,
    application vs default SM clocks, processes on the GPU. ``available`` False with ``reason`` otherwise."""
    nv, reason = load_nvml(nvml)
    if reason is not None or nv is None:
        return {"available": False, "reason": reason}
    out: dict[str, Any] = {"available": True, "devices": []}

    def get(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except nv.NVMLError as exc:
            return {"error": nvml_reason(nv, exc)}

    def device(i: int) -> dict[str, Any]:
        h = nv.nvmlDeviceGetHandleByIndex(i)
        procs = get(lambda: nv.nvmlDeviceGetComputeRunningProcesses(h))
        return {
            "index": i,
            "name": get(lambda: _text(nv.nvmlDeviceGetName(h))),
            "memory_total_mb": get(lambda: round(nv.nvmlDeviceGetMemoryInfo(h).total / MB, 1)),
            "persistence_mode": get(lambda: int(nv.nvmlDeviceGetPersistenceMode(h))),
            "app_clock_sm_mhz": get(lambda: int(nv.nvmlDeviceGetApplicationsClock(h, nv.NVML_CLOCK_SM))),
            "default_app_clock_sm_mhz": get(
                lambda: int(nv.nvmlDeviceGetDefaultApplicationsClock(h, nv.NVML_CLOCK_SM))
            ),
            "processes": procs
            if isinstance(procs, dict)
            else [{"pid": int(p.pid), "mem_mb": round((p.usedGpuMemory or 0) / MB, 1)} for p in procs],
        }

    out["driver"] = get(lambda: _text(nv.nvmlSystemGetDriverVersion()))
    out["devices"] = [device(i) for i in range(nv.nvmlDeviceGetCount())]
    return out
