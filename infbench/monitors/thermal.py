"""Temperatures (hwmon) and Intel `thermal_throttle` counters (core per CPU, package once per package), 1 Hz."""

from __future__ import annotations

import glob
import os
import re
from typing import NamedTuple

import psutil

from infbench.monitors.base import (
    Counter,
    KeptFile,
    Monitor,
    MonitorReading,
    Probe,
    Values,
    read_int,
    read_text,
    under,
    why_unreadable,
)

HWMON = "/sys/class/hwmon"
CPU_DIR = "/sys/devices/system/cpu"


class Temp(NamedTuple):
    """One temperature sensor, shaped like psutil's `shwtemp`."""

    label: str
    current: float
    high: float | None
    critical: float | None


def read_hwmon(root: str) -> dict[str, list[Temp]]:
    """Chip name → sensors from `/sys/class/hwmon/hwmon*/temp*_input` under `root` (what psutil reads)."""
    out: dict[str, list[Temp]] = {}
    for d in sorted(glob.glob(os.path.join(under(root, HWMON), "hwmon*"))):
        chip = (read_text(os.path.join(d, "name")) or os.path.basename(d)).strip()
        for inp in sorted(glob.glob(os.path.join(d, "temp*_input"))):
            value = read_int(inp)
            if value is None:
                continue
            stem = inp[: -len("_input")]
            high, crit = read_int(stem + "_max"), read_int(stem + "_crit")
            out.setdefault(chip, []).append(
                Temp(
                    label=(read_text(stem + "_label") or "").strip(),
                    current=value / 1000.0,
                    high=high / 1000.0 if high else None,
                    critical=crit / 1000.0 if crit else None,
                )
            )
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def temperature_values(temps: dict[str, list[Temp]]) -> Values:
    """``temp.<chip>.<label>`` for every sensor, plus ``temp.max_c``, ``temp.max_high_c``, ``temp.headroom_c``."""
    values: Values = {}
    hottest: float | None = None
    nearest: tuple[float, float] | None = None  # (headroom, high)
    for chip, sensors in temps.items():
        for n, s in enumerate(sensors):
            key = f"temp.{_slug(chip)}.{_slug(s.label) if s.label else f'temp{n + 1}'}"
            while key in values:
                key += "_"
            values[key] = round(float(s.current), 1)
            hottest = s.current if hottest is None else max(hottest, s.current)
            if s.high:
                room = s.high - s.current
                if nearest is None or room < nearest[0]:
                    nearest = (room, s.high)
    if hottest is not None:
        values["temp.max_c"] = round(float(hottest), 1)
    if nearest is not None:
        values["temp.max_high_c"] = round(float(nearest[1]), 1)
        values["temp.headroom_c"] = round(float(nearest[0]), 1)
    return values


def throttle_files(root: str) -> tuple[list[str], list[str]]:
    """(core count files of every CPU, package count files of one CPU per physical package)."""
    core: list[str] = []
    package: dict[str, str] = {}
    base = under(root, CPU_DIR)
    cpus = sorted(
        (int(m.group(1)), p)
        for p in glob.glob(os.path.join(base, "cpu[0-9]*"))
        if (m := re.search(r"cpu(\d+)$", p))
    )
    for _, path in cpus:
        tt = os.path.join(path, "thermal_throttle")
        if os.path.exists(os.path.join(tt, "core_throttle_count")):
            core.append(os.path.join(tt, "core_throttle_count"))
        pkg_file = os.path.join(tt, "package_throttle_count")
        if os.path.exists(pkg_file):
            pkg = (read_text(os.path.join(path, "topology", "physical_package_id")) or "0").strip()
            package.setdefault(pkg, pkg_file)
    return core, list(package.values())


def _sum(files: list[KeptFile]) -> float | None:
    total, seen = 0, False
    for f in files:
        try:
            v = int((f.read() or "").strip())
        except ValueError:
            continue
        total += v
        seen = True
    return float(total) if seen else None


class ThermalMonitor(Monitor):
    """Temperatures and CPU thermal-throttle counters.

    At root ``/`` temperatures come from `psutil.sensors_temperatures()`; under another root (test fixtures) the
    same hwmon files are parsed directly. Throttle counters are sysfs-only (psutil lacks them).
    """

    name = "thermal"

    def __init__(self, root: str = "/", rate_hz: float = 1.0) -> None:
        self.root = root
        self.rate_hz = rate_hz
        self._core: list[str] = []
        self._package: list[str] = []
        self._files: dict[str, list[KeptFile]] = {}
        self._temps = False
        self._counter = Counter()

    def _read_temps(self) -> dict[str, list[Temp]]:
        if self.root in ("", "/"):
            raw = psutil.sensors_temperatures() if hasattr(psutil, "sensors_temperatures") else {}
            return {
                chip: [Temp(s.label, s.current, s.high, s.critical) for s in sensors]
                for chip, sensors in raw.items()
            }
        return read_hwmon(self.root)

    def probe(self) -> Probe:
        """Which of temperatures, core and package throttle counters exist."""
        available: list[str] = []
        missing: dict[str, str] = {}
        self._temps = bool(self._read_temps())
        if self._temps:
            available.append("temp")
        else:
            hw = under(self.root, HWMON)
            has_dir = os.path.isdir(hw) and os.listdir(hw)
            missing["temp"] = (
                "no temperature sensors in /sys/class/hwmon"
                if has_dir
                else ("no sysfs node /sys/class/hwmon (VM or no sensor driver)")
            )
        self._core, self._package = throttle_files(self.root)
        self.close()
        self._files = {
            "cpu.throttle.core_count": [KeptFile(f, 64) for f in self._core],
            "cpu.throttle.package_count": [KeptFile(f, 64) for f in self._package],
        }
        tt = CPU_DIR + "/cpu0/thermal_throttle"
        reason = why_unreadable(under(self.root, tt + "/core_throttle_count"), tt) or "not exposed"
        if self._core:
            available.append("cpu.throttle.core_count")
        else:
            missing["cpu.throttle.core_count"] = reason
        if self._package:
            available.append("cpu.throttle.package_count")
        else:
            missing["cpu.throttle.package_count"] = reason
        return Probe(self.name, available, missing)

    def sample(self, t_ns: int) -> MonitorReading:
        """Temperatures now, throttle counters and their increase since the previous sample."""
        values: Values = temperature_values(self._read_temps()) if self._temps else {}
        for key, files in self._files.items():
            if files:
                count = _sum(files)
                values[key] = count
                values[key + ".delta"] = self._counter.delta(key, count)
        return self.reading(t_ns, values)

    def close(self) -> None:
        """Close the kept throttle-counter files."""
        for files in self._files.values():
            for f in files:
                f.close()
