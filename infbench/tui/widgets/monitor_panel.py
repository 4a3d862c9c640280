"""`MonitorPanel`: CPU per core, temperatures, memory and engine RSS, GPUs, throttle state; n/a with reasons."""

from __future__ import annotations

import re
from typing import Any

from textual.content import Content
from textual.widgets import Static

from infbench.tui.fmt import BAD, MUTED, WARN, ContentBuilder, num
from infbench.tui.snapshot import Snapshot

CORE = re.compile(r"^cpu\.util\.(\d+)$")
GPU = re.compile(r"^gpu(\d+)\.")


def _bar(pct: float | None, width: int = 10) -> tuple[str, str]:
    if pct is None:
        return "·" * width, MUTED
    filled = round(max(0.0, min(pct, 100.0)) / 100 * width)
    return "█" * filled + "░" * (
        width - filled
    ), "$error" if pct > 90 else "$warning" if pct > 70 else "$success"


def _na(snap: Snapshot, *keys: str) -> str:
    """ "n/a: reason" from the sensor notices whose group matches one of `keys`."""
    for group, reason in snap.unavailable.items():
        if any(k in group for k in keys):
            return f"n/a: {reason}"
    return "n/a: not reported by this machine"


def clock_reasons(bits: Any) -> str:
    """Human names of NVIDIA clock-event reason bits (alarms in capitals), or "none"."""
    b = num(bits)
    if b is None:
        return str(bits) if bits else "—"
    from infbench.monitors.clock_events import describe_clock_events

    names = [name.upper() if sev == "alarm" else name for name, sev in describe_clock_events(b)]
    return ", ".join(names) or "none"


class MonitorPanel(Static):
    """The machine at the snapshot's instant: every sensor shows a value or "n/a: reason"."""

    DEFAULT_CSS = """
    MonitorPanel { width: 1fr; height: 1fr; border: round $foreground-muted; padding: 0 1;
                   text-wrap: nowrap; text-overflow: ellipsis; border-title-color: $foreground; }
    MonitorPanel.-throttle { border: heavy $error; border-title-color: $text-error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "machine"
        self._shown = Content("")
        self._inputs: tuple | None = None

    def show(self, snap: Snapshot) -> None:
        """Render the monitor readings of `snap` (nothing to do while they are the ones shown)."""
        inputs = (snap.monitor, snap.throttle_active, snap.unavailable)
        if inputs == self._inputs:
            return
        self._inputs = inputs
        text = render_monitor(snap)
        alarm = snap.throttle_active or any(
            k.endswith("clock_event_alarm") and bool(v) for k, v in snap.monitor.items()
        )
        self.set_class(alarm, "-throttle")
        if not text.is_same(self._shown):
            self._shown = text
            self.update(text, layout=False)


def render_monitor(snap: Snapshot) -> Content:
    """The monitor panel's content."""
    m = snap.monitor
    t = ContentBuilder()
    if snap.throttle_active:
        t.append(" THROTTLING ", style=f"bold reverse {BAD}").append("\n")
    total = num(m.get("cpu.util.total"))
    t.append("CPU ", style="bold").append(f"{total:5.1f}%" if total is not None else "  n/a ")
    for key, label in (("cpu.load1", "load"), ("cpu.steal", "steal")):
        v = num(m.get(key))
        t.append(f"  {label} " + (f"{v:.1f}" if v is not None else "n/a"), style=MUTED if v is None else "")
    fmax = num(m.get("cpu.freq_max_mhz"))
    t.append("\n")
    cores = sorted((int(match.group(1)), k) for k in m if (match := CORE.match(k)))
    for i, key in cores[:16]:
        pct = num(m.get(key))
        bar, style = _bar(pct)
        t.append(f" {i:>2} ").append(bar, style=style).append(f" {pct or 0:5.1f}%")
        f = num(m.get(f"cpu.freq_mhz.{i}", m.get("cpu.freq_mhz")))
        if f is not None:
            low = fmax is not None and f < 0.8 * fmax
            t.append(f"  {f / 1000:.2f} GHz", style=f"bold {WARN}" if low else "")
        t.append("\n")
    if num(m.get("cpu.freq_mhz")) is None and not any(k.startswith("cpu.freq_mhz.") for k in m):
        t.append("freq ", style="bold").append(_na(snap, "freq"), style=MUTED).append("\n")
    thr = {k: num(v) for k, v in m.items() if k.startswith("cpu.throttle.")}
    t.append("throttle ", style="bold")
    if thr:
        t.append("  ".join(f"{k[13:]} {v:.0f}" for k, v in thr.items() if v is not None))
    else:
        t.append(_na(snap, "throttle"), style=MUTED)
    t.append("\n")
    temp, high = num(m.get("temp.max_c")), num(m.get("temp.max_high_c"))
    t.append("temp ", style="bold")
    if temp is None:
        t.append(_na(snap, "temp", "hwmon"), style=MUTED)
    else:
        hot = high is not None and temp >= high - 5
        t.append(f"{temp:.0f}°C", style=f"bold {BAD}" if hot else "")
        if high is not None:
            t.append(f" (high {high:.0f}°C)", style=MUTED)
    t.append("\n")
    used, avail, pct = num(m.get("mem.used_mb")), num(m.get("mem.available_mb")), num(m.get("mem.percent"))
    t.append("mem  ", style="bold")
    if used is None:
        t.append(_na(snap, "mem"), style=MUTED)
    else:
        t.append(f"{used:,.0f} MB used, {avail or 0:,.0f} MB free ({pct or 0:.0f}%)")
        swap = num(m.get("mem.swap_used_mb"))
        if swap:
            t.append(f"  swap {swap:,.0f} MB", style=f"bold {WARN}")
    t.append("\n")
    rss = [(k[5:-7], num(v)) for k, v in m.items() if k.startswith("proc.") and k.endswith(".rss_mb")]
    if rss:
        t.append("RSS  ", style="bold").append(
            "  ".join(f"{lab} {v:,.0f} MB" for lab, v in rss if v is not None)
        )
        t.append("\n")
    other = num(m.get("other.cpu_percent"))
    if other is not None:
        top = [(m.get(f"other.top.{k}.name"), num(m.get(f"other.top.{k}.cpu_percent"))) for k in range(3)]
        names = ", ".join(f"{n} {p:.0f}%" for n, p in top if n and p is not None)
        t.append("other", style="bold").append(
            f" {other:.0f}% CPU" + (f" ({names})" if names else ""),
            style=f"bold {WARN}" if other > 50 else "",
        )
        t.append("\n")
    _gpus(t, snap)
    return t.content()


def _gpus(t: ContentBuilder, snap: Snapshot) -> None:
    m = snap.monitor
    ids = sorted({int(match.group(1)) for k in m if (match := GPU.match(k))})
    if not ids:
        t.append("GPU  ", style="bold").append(_na(snap, "gpu", "nvml"), style=MUTED)
        return
    for i in ids:

        def g(name: str, i: int = i) -> float | None:
            return num(m.get(f"gpu{i}.{name}"))

        util, used, total, temp = g("util"), g("mem_used_mb"), g("mem_total_mb"), g("temp_c")
        clk, cmax, pw, plim = g("sm_clock_mhz"), g("sm_clock_max_mhz"), g("power_w"), g("power_limit_w")
        t.append(f"GPU{i} ", style="bold")
        t.append(f"{util:.0f}%" if util is not None else "util n/a")
        t.append(f"  mem {used or 0:,.0f}/{total or 0:,.0f} MB" if used is not None else "  mem n/a")
        slow = g("temp_slowdown_c")
        hot = temp is not None and slow is not None and temp >= slow - 5
        t.append(f"  {temp:.0f}°C" if temp is not None else "  temp n/a", style=f"bold {BAD}" if hot else "")
        t.append(f"  SM {clk:.0f}/{cmax or 0:.0f} MHz" if clk is not None else "  clock n/a")
        t.append(f"  {pw:.0f}/{plim or 0:.0f} W" if pw is not None else "  power n/a")
        alarm = bool(m.get(f"gpu{i}.clock_event_alarm"))
        reasons = m.get(f"gpu{i}.clock_event_reasons")
        t.append("\n     clock events: ", style=MUTED)
        t.append(clock_reasons(reasons), style=f"bold reverse {BAD}" if alarm else "")
        t.append("\n")
