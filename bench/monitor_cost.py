"""Observer cost of the monitor sampler: CPU time of the sampler thread ÷ wall time, as % of one core.

Runs `Sampler(default_monitors())` (base tick 10 Hz; each monitor at its own rate ≤ 10 Hz) for N seconds with
this process otherwise idle, and times each monitor's `sample()` separately.

    .venv/bin/python bench/monitor_cost.py --seconds 30
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from infbench.monitors.sampler import Sampler, default_monitors


class _Sink:
    def __init__(self) -> None:
        self.ticks = 0
        self.events: list = []

    def on_monitor(self, readings: list) -> None:
        self.ticks += 1

    def on_event(self, event) -> None:
        self.events.append(event)


def main() -> None:
    """Run the sampler for --seconds and print the cost table (Markdown)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()

    monitors = default_monitors()
    per: dict[str, list[float]] = {m.name: [] for m in monitors}
    for m in monitors:  # wrap sample() to time each monitor on the thread's CPU clock
        orig = m.sample

        def timed(t_ns: int, _orig=orig, _name=m.name):
            t0 = time.thread_time_ns()
            r = _orig(t_ns)
            per[_name].append((time.thread_time_ns() - t0) / 1e3)
            return r

        m.sample = timed  # type: ignore[method-assign]
    sink = _Sink()
    sampler = Sampler(monitors, sink)
    sampler.set_processes({"self": os.getpid()})
    thread_cpu: list[int] = []
    orig_loop = sampler._loop

    def loop() -> None:
        t0 = time.thread_time_ns()
        try:
            orig_loop()
        finally:
            thread_cpu.append(time.thread_time_ns() - t0)

    sampler._loop = loop  # type: ignore[method-assign]
    import psutil

    c0 = psutil.cpu_times()
    p0, w0 = time.process_time(), time.perf_counter()
    sampler.start()
    time.sleep(args.seconds)
    sampler.stop()
    wall = time.perf_counter() - w0
    proc_cpu = time.process_time() - p0
    c1 = psutil.cpu_times()
    tot = sum(c1) - sum(c0)
    busy = 100 * (tot - (c1.idle - c0.idle) - (c1.iowait - c0.iowait)) / tot if tot else 0.0
    steal = 100 * (c1.steal - c0.steal) / tot if tot else 0.0
    active = [p.monitor for p in sampler.probes if p.usable]
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}, machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}")
    print(f"wall {wall:.1f} s, ticks {sampler.ticks}, active monitors: {', '.join(active)}")
    print(f"machine busy during the run: {busy:.0f} % of all CPUs (steal {steal:.1f} %), "
          f"load1 {os.getloadavg()[0]:.2f}")
    print(f"sampler thread CPU: {100 * thread_cpu[0] / 1e9 / wall:.3f} % of one core")
    print(f"whole process CPU (incl. start-up probes): {100 * proc_cpu / wall:.3f} % of one core\n")
    print("| monitor | rate Hz | samples | median µs | p99 µs | CPU % of one core |")
    print("|---|---|---|---|---|---|")
    for m in monitors:
        xs = per[m.name]
        if xs:
            p99 = sorted(xs)[min(len(xs) - 1, int(0.99 * len(xs)))]
            print(f"| {m.name} | {m.rate_hz:g} | {len(xs)} | {statistics.median(xs):.0f} | {p99:.0f} | "
                  f"{100 * sum(xs) / 1e6 / wall:.3f} |")


if __name__ == "__main__":
    main()
