"""Headless recording: progress on stderr, a clean stop on signals, the results table, JSON/CSV, exit codes."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infbench.errors import ConfigError

if TYPE_CHECKING:
    from infbench.analysis.report_model import Report


def check_output_paths(args: argparse.Namespace) -> None:
    """ConfigError for --json/--csv/--save paths whose directory is missing, or a --save that exists."""
    for flag in ("json", "csv", "save"):
        value = getattr(args, flag, None)
        if value and value != "-":
            target = Path(value).expanduser().resolve()
            if not target.parent.is_dir():
                raise ConfigError(f"--{flag} {value}: directory {target.parent} does not exist")
            if flag == "save" and target.exists() and (target.is_dir() or target.stat().st_size > 0):
                raise ConfigError(
                    f"--save {value}: already exists; sessions are never overwritten — "
                    f"choose another path or delete it first"
                )


def run_headless(plan: Any, args: argparse.Namespace) -> int:
    """Headless run: Rich progress on stderr, table on stdout, optional JSON/CSV; returns the exit code."""
    from rich.console import Console

    from infbench.analysis.summary import build_report
    from infbench.report.analysis import print_analysis
    from infbench.report.results import print_results_table
    from infbench.report.sections import print_sections

    rec = record_headless(plan, args, "infbench")
    report = build_report(rec.store, session=str(rec.path))
    out = Console()
    print_results_table(out, report)
    print_analysis(out, report)
    print_sections(out, report)
    interrupted = rec.outcome == "interrupted"
    if interrupted:
        out.print(interrupted_note(report), style="bold yellow", highlight=False, markup=False)
    _write_outputs(args, report)
    announce_saved(rec.path)
    return exit_code(report, interrupted)


def interrupted_note(report: Report) -> str:
    """The line under the table of an interrupted run: partial results, and how far each backend got."""
    got = ", ".join(f"{label} {r.iterations:,} calls" for label, r in report.variants.items())
    return (
        f"INTERRUPTED: partial results ({got}; planned -d {report.plan.get('duration_s', '?')} s and -n "
        f"{report.plan.get('iterations', '?')} calls per backend); everything measured is in the session, marked "
        "interrupted; exit code 130"
    )


def exit_code(report: Report, interrupted: bool) -> int:
    """130 when interrupted, else 0 when every backend is ok, 1 when any failed or is degraded."""
    if interrupted:
        return 130
    return 0 if report.all_ok else 1


def write_json(target: str, report: Report | Mapping[str, Any]) -> None:
    """Write `report` (a typed Report, or its JSON dict with additions) as JSON to `target` ('-' for stdout)."""
    from infbench.report.json_out import json_text

    text = json_text(report)
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).expanduser().write_text(text)


def record_headless(plan: Any, args: argparse.Namespace, title: str) -> Any:
    """Prepare, record and run `plan` with progress on stderr; SIGINT (Ctrl-C) or SIGTERM stops it cleanly.

    The expected duration is printed before loading and again once warm-up has timed the calls. The first
    signal stops the engines and keeps everything recorded (outcome ``interrupted``); a second kills them.
    SIGINT is handled even when the parent ignored it (a background job of a script).

    Returns the finished RecordedRun (its `store`, `path` and `outcome`); raises InfbenchError when the run failed.
    """
    from rich.console import Console

    from infbench.analysis.contention import every_core_warning
    from infbench.report.style import styled
    from infbench.run.progress import HeadlessProgress, PrepareProgress, plan_summary
    from infbench.run.recorded_run import RecordedRun
    from infbench.vocab import Tone

    err = Console(stderr=True)
    progress = HeadlessProgress(err, plan.labels, plan.duration_s, plan.iterations, plan.schedule)
    rec = RecordedRun(
        plan, args.save, monitors=not args.no_monitors, listeners=(progress,), progress=PrepareProgress(err)
    )
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int == signal.SIG_IGN:  # inherited from a shell's `&`: a SIGINT sent to us must still stop us
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        err.print(plan_summary(plan), highlight=False, soft_wrap=True)
        for warning in every_core_warning(plan.to_dict(), None):  # before any engine loads
            err.print(styled(f"⚠ {warning}", Tone.WARN), highlight=False, soft_wrap=True)
        rec.prepare()
        err.print(f"[bold]{title}[/bold] recording to {rec.path}")
        stopper = _Stopper(rec, progress, err)
        signal.signal(signal.SIGINT, stopper)
        previous_term = signal.signal(signal.SIGTERM, stopper)
        try:
            rec.start()
            with progress:
                while not rec.wait(0.2):
                    pass
            rec.finish()  # still under the handler: a late signal must not cut the session file's closing
        finally:
            signal.signal(signal.SIGTERM, previous_term)
    finally:
        signal.signal(signal.SIGINT, previous_int)
    return rec


class _Stopper:
    """Signal handler for a recording run: the first signal stops it cleanly, a second kills the engines."""

    def __init__(self, rec: Any, progress: Any, err: Any) -> None:
        self.rec, self.progress, self.err = rec, progress, err
        self.count = 0

    def __call__(self, signum: int, _frame: Any) -> None:
        self.count += 1
        if self.count == 1:
            name = signal.Signals(signum).name
            self.err.print(f"[yellow]{name}: stopping engines, keeping everything recorded so far…[/yellow]")
            self.progress.mark_interrupted()
            self.rec.stop()
        else:
            self.err.print("[red]second signal: killing the engines[/red]")
            for host in list(self.rec.runner.hosts.values()):
                host.kill()


def announce_saved(path: Any) -> None:
    """Tell the user where the session is and how to look at it again."""
    sys.stderr.write(
        f"session saved: {path}  (replay: infbench-tui replay {path}; "
        f"statistics: infbench-tui report {path})\n"
    )


def _write_outputs(args: argparse.Namespace, report: Report) -> None:
    if args.json:
        write_json(args.json, report)
    if args.csv:
        from infbench.report.results import results_csv

        text = results_csv(report)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            Path(args.csv).expanduser().write_text(text)
