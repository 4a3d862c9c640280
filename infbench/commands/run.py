"""`infbench-tui run`: benchmark backends live in the TUI, or `--headless` with progress and a results table."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from infbench.commands.plan_args import add_plan_arguments, plan_from_args
from infbench.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `run` subcommand."""
    p = sub.add_parser(
        "run", help="benchmark backends (live TUI, or --headless)",
        description="Benchmark one model on several backends. Each engine runs in its own process; every run is "
                    "recorded to a session file (see --save). Exit code: 0 all backends ok, 1 any failed or "
                    "degraded, 2 bad arguments.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  infbench-tui run bert-tiny --backend ort --backend ov --headless -d 5\n"
               "  infbench-tui run model.onnx -b ort:graph_opt=basic -b ov:hint=latency --threads 1 --headless "
               "--json out.json\n"
               "  infbench-tui run bert-small                 # live TUI\n",
    )
    add_plan_arguments(p)
    p.add_argument("--headless", action="store_true", help="no TUI: progress bars, then a results table")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for stdout)")
    p.add_argument("--csv", metavar="PATH", help="write one row per backend as CSV ('-' for stdout)")
    p.add_argument("--save", metavar="PATH", help="session file to record to; never overwritten (default: a "
                                                   "timestamped file under the user's data dir, printed at start "
                                                   "and end)")
    p.add_argument("--aa", action="store_true",
                   help="A/A: also run the first backend a second time (label NAME#aa) to measure this machine's own "
                        "noise band; the fair comparison then calls a win only beyond that band")
    p.add_argument("--no-monitors", action="store_true", help="do not sample CPU/memory/GPU monitors")
    p.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; exit code 0 ok, 1 any backend failed/degraded."""
    check_output_paths(args)
    plan = plan_from_args(args)
    if not args.headless:
        from infbench.tui.launch import run_live

        return run_live(plan, args)
    return run_headless(plan, args)


def check_output_paths(args: argparse.Namespace) -> None:
    """ConfigError for --json/--csv/--save paths whose directory is missing, or a --save that exists."""
    for flag in ("json", "csv", "save"):
        value = getattr(args, flag, None)
        if value and value != "-":
            target = Path(value).expanduser().resolve()
            if not target.parent.is_dir():
                raise ConfigError(f"--{flag} {value}: directory {target.parent} does not exist")
            if flag == "save" and target.exists() and (target.is_dir() or target.stat().st_size > 0):
                raise ConfigError(f"--save {value}: already exists; sessions are never overwritten — "
                                  f"choose another path or delete it first")


def run_headless(plan: Any, args: argparse.Namespace) -> int:
    """Headless run: Rich progress on stderr, table on stdout, optional JSON/CSV; returns the exit code."""
    from rich.console import Console

    from infbench.analysis.summary import build_report
    from infbench.render import print_results_table
    from infbench.render_analysis import print_analysis

    rec = record_headless(plan, args, "infbench")
    report = build_report(rec.store)
    report["session"] = str(rec.path)
    out = Console()
    print_results_table(out, report)
    print_analysis(out, report)
    _write_outputs(args, report)
    announce_saved(rec.path)
    return exit_code(report, rec.outcome == "interrupted")


def exit_code(report: dict[str, Any], interrupted: bool) -> int:
    """130 when interrupted, else 0 when every backend is ok, 1 when any failed or is degraded."""
    if interrupted:
        return 130
    statuses = [b["status"] for b in report["backends"].values()]
    return 0 if statuses and all(s == "ok" for s in statuses) else 1


def write_json(target: str, report: dict[str, Any]) -> None:
    """Write `report` as JSON to `target` ('-' for stdout)."""
    text = json.dumps(report, indent=2, default=json_default)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).expanduser().write_text(text + "\n")


def record_headless(plan: Any, args: argparse.Namespace, title: str) -> Any:
    """Prepare, record and run `plan` with Rich progress on stderr; the first Ctrl-C or a SIGTERM stops it cleanly.

    Returns the finished RecordedRun (its `store`, `path` and `outcome`); raises InfbenchError when the run failed.
    """
    from rich.console import Console

    from infbench.commands.progress import HeadlessProgress, PrepareProgress
    from infbench.recorded_run import RecordedRun

    err = Console(stderr=True)
    progress = HeadlessProgress(err, plan.labels, plan.duration_s, plan.iterations)
    rec = RecordedRun(plan, args.save, monitors=not args.no_monitors, listeners=(progress,),
                      progress=PrepareProgress(err))
    rec.prepare()
    err.print(f"[bold]{title}[/bold] recording to {rec.path}")
    previous = signal.signal(signal.SIGTERM, lambda *_: rec.stop())
    try:
        rec.start()
        with progress:
            wait_interruptibly(rec, err)
    finally:
        signal.signal(signal.SIGTERM, previous)
    rec.finish()
    return rec


def announce_saved(path: Any) -> None:
    """Tell the user where the session is and how to look at it again."""
    sys.stderr.write(f"session saved: {path}  (replay: infbench-tui replay {path}; "
                     f"statistics: infbench-tui report {path})\n")


def wait_interruptibly(rec: Any, err: Any) -> None:
    """Wait for the run; first Ctrl-C stops it cleanly (recording kept), a second kills the engines."""
    interrupts = 0
    while True:
        try:
            if rec.wait(0.2):
                return
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                err.print("[yellow]interrupted: stopping engines, keeping everything recorded so far…[/yellow]")
                rec.stop()
            else:
                for host in list(rec.runner.hosts.values()):
                    host.kill()


def _write_outputs(args: argparse.Namespace, report: dict[str, Any]) -> None:
    if args.json:
        write_json(args.json, report)
    if args.csv:
        from infbench.render import results_csv

        text = results_csv(report)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            Path(args.csv).expanduser().write_text(text)


def json_default(obj: Any) -> Any:
    """`json.dumps` default for numpy values and dataclasses with to_dict()."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return str(obj)
