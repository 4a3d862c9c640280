"""`infbench-tui run`: benchmark backends live in the TUI, or `--headless` with progress and a results table."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from infbench.commands.plan_args import add_plan_arguments
from infbench.plan.build import plan_from_args
from infbench.run.headless import check_output_paths

DESCRIPTION = (
    "Benchmark one model on several backends. Each engine runs in its own process; every run is recorded to a "
    + "session file (see --save). Without --backend, every installed backend that can take the model runs, and "
    + "the ones left out are named with the reason (torch cannot take an .onnx file).",
    "How long: each backend measures until both -d seconds and -n calls are reached. The expected time is "
    + "printed at the start and again once warm-up has timed the calls; the progress shows calls, the running "
    + "median of all measured calls (the statistic the table calls median) and which limit binds ('until -d "
    + "3.1/10 s' or 'until -n 34/100 calls'). Without a terminal the progress is a line per backend every 10 %.",
    "Stopping: Ctrl-C, SIGINT or SIGTERM stops the engines and keeps everything recorded (the session is marked "
    + "interrupted); the partial table is printed marked [interrupted] and the exit code is 130, also when the "
    + "parent ignored SIGINT (a `cmd &` job in a script). A second Ctrl-C kills the engines at once.",
    "Exit code: 0 all backends ok, 1 any failed or degraded, 2 bad arguments, 130 interrupted.",
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `run` subcommand."""
    p = sub.add_parser(
        "run",
        help="benchmark backends (live TUI, or --headless)",
        description="\n\n".join(textwrap.fill(para, 100) for para in DESCRIPTION),
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
    p.add_argument(
        "--save",
        metavar="PATH",
        help="session file to record to; never overwritten (default: a "
        "timestamped file under the user's data dir, printed at start "
        "and end)",
    )
    p.add_argument(
        "--aa",
        action="store_true",
        help="A/A: also run the first backend a second time (label NAME#aa) to measure this machine's own "
        "noise band; the fair comparison then calls a win only beyond that band",
    )
    p.add_argument("--no-monitors", action="store_true", help="do not sample CPU/memory/GPU monitors")
    p.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; exit code 0 ok, 1 any backend failed/degraded."""
    check_output_paths(args)
    notes: list[str] = []
    plan = plan_from_args(args, notes=notes)
    from infbench.engines.registry import engine_info

    if any(engine_info(s.backend).needs != "none" for s in plan.backends):
        from infbench.engines.models import resolve_model

        # A missing or unusable model: one line before anything is printed or started
        resolve_model(plan.model)
    for line in notes:
        sys.stderr.write(f"infbench-tui: {line}\n")
    if not args.headless:
        from infbench.tui.launch import run_live

        return run_live(plan, args)
    from infbench.run.headless import run_headless

    return run_headless(plan, args)
