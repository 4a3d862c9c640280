"""NVIDIA clock-event (throttle) reason bits, named with a severity. No pynvml import: the TUI uses this.

Severity: ``alarm`` slows the GPU below what the workload asks for (HW slowdown, SW/HW thermal, power brake);
``normal`` is an expected state under full load (SW power cap, board limit); ``info`` is not a slowdown
signal (idle, application clocks, sync boost, display clock).
"""

from __future__ import annotations

# Values as in nvidia-ml-py (`pynvml.nvmlClocksEventReason*` / `nvmlClocksThrottleReason*`).
CLOCK_EVENT_BITS: dict[int, tuple[str, str]] = {
    0x1: ("gpu_idle", "info"),
    0x2: ("applications_clocks_setting", "info"),
    0x4: ("sw_power_cap", "normal"),
    0x8: ("hw_slowdown", "alarm"),
    0x10: ("sync_boost", "info"),
    0x20: ("sw_thermal_slowdown", "alarm"),
    0x40: ("hw_thermal_slowdown", "alarm"),
    0x80: ("hw_power_brake_slowdown", "alarm"),
    0x100: ("display_clock_setting", "info"),
    0x200: ("board_limit", "normal"),
    0x400: ("reliability", "normal"),
}
ALARM_MASK = 0x8 | 0x20 | 0x40 | 0x80


def describe_clock_events(bits: float | None) -> list[tuple[str, str]]:
    """Name every set bit of a clock-event bitmask: [(name, severity)], unknown bits as hex with ``info``."""
    if bits is None:
        return []
    bits = int(bits)
    out: list[tuple[str, str]] = []
    bit = 1
    while bit <= bits:
        if bits & bit:
            out.append(CLOCK_EVENT_BITS.get(bit, (hex(bit), "info")))
        bit <<= 1
    return out


def is_alarm(bits: float | None) -> bool:
    """True when any alarm bit is set."""
    return bits is not None and bool(int(bits) & ALARM_MASK)
