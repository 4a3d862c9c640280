"""`infbench-tui doctor`: environment fingerprint, warnings before benchmarking, and which sensors exist here."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `doctor` subcommand."""
    p = sub.add_parser(
        "doctor",
        help="check this machine before benchmarking (fingerprint, warnings, sensors)",
        description="Print the environment fingerprint (CPU, memory, OS, Python, packages, GPU), warnings that "
        "make results noisy (governor, turbo, battery, other processes, swap, steal, GPU "
        "persistence/clocks/processes) and which monitor sensors this machine exposes. Exit 0.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p


def collect() -> dict[str, Any]:
    """Fingerprint, live look, warnings and sensor probes as one JSON-serialisable dict."""
    from infbench.monitors.checks import environment_warnings, live_look
    from infbench.monitors.fingerprint import system_fingerprint
    from infbench.monitors.sampler import default_monitors

    fp = system_fingerprint()
    live = live_look(0.5)
    probes = []
    for m in default_monitors():
        try:
            probes.append(m.probe().to_dict())
        except Exception as exc:  # a monitor bug: reported as that monitor missing, the others still shown
            log.debug("monitor %s: probe failed", m.name, exc_info=True)
            reason = f"probe failed: {type(exc).__name__}: {exc}"
            probes.append({"monitor": m.name, "available": [], "missing": {m.name: reason}})
        try:
            m.close()
        except Exception:  # best effort, as the sampler does
            log.debug("monitor %s: close failed", m.name, exc_info=True)
    return {"fingerprint": fp, "live": live, "warnings": environment_warnings(fp, live), "sensors": probes}


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    fp = report["fingerprint"]
    cpu, mem, osi, py = fp["cpu"], fp["memory"], fp["os"], fp["python"]
    t = Table(title="environment", show_header=False)
    t.add_row(
        "CPU",
        f"{cpu['model']} · {cpu['logical_cores']} logical / {cpu['physical_cores']} physical"
        + (" · virtual machine" if cpu.get("virtual") else ""),
    )
    t.add_row(
        "governor / turbo",
        f"{cpu.get('governors') or 'n/a'} / {'n/a' if cpu.get('turbo') is None else cpu['turbo']}",
    )
    t.add_row(
        "memory", f"{mem['total_mb']:.0f} MB, swap {mem['swap_used_mb']:.0f}/{mem['swap_total_mb']:.0f} MB"
    )
    t.add_row("OS", f"{osi.get('distro') or osi['system']} · kernel {osi['kernel']}")
    t.add_row("Python", f"{py['version']} ({py['executable']})")
    t.add_row("packages", ", ".join(f"{k} {v}" for k, v in fp["packages"].items() if v) or "-")
    gpu = fp.get("gpu") or {}
    if gpu.get("available"):
        for d in gpu["devices"]:
            t.add_row(
                f"gpu{d['index']}", f"{d['name']} · {d['memory_total_mb']} MB · driver {gpu.get('driver')}"
            )
    else:
        t.add_row("GPU", f"n/a: {gpu.get('reason')}")
    console.print(t)
    if report["warnings"]:
        for w in report["warnings"]:
            console.print(f"[yellow]warning:[/] {w}", highlight=False)
    else:
        console.print("[green]no warnings[/]")
    s = Table(title="sensors")
    s.add_column("monitor")
    s.add_column("sensor")
    s.add_column("status")
    for p in report["sensors"]:
        for name in p["available"]:
            s.add_row(p["monitor"], name, "[green]available[/]")
        for name, reason in p["missing"].items():
            s.add_row(p["monitor"], name, f"[dim]n/a: {reason}[/]")
    console.print(s)


def run(args: argparse.Namespace) -> int:
    """Print the report (tables, or JSON with --json); always exit 0."""
    report = collect()
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print(report)
    return 0
