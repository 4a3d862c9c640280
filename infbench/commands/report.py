"""`infbench-tui report SESSION`: the statistics of a recorded run (same as the headless run) plus its events."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infbench.analysis.report_model import Report

FORMATS = ("table", "md", "json", "csv")
MAX_EVENTS_SHOWN = 40


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `report` subcommand."""
    p = sub.add_parser(
        "report",
        help="statistics of a recorded session",
        description="Print the results of a recorded session: the same statistics as the headless run "
        "(bootstrap CIs, relative-to-fastest, winners), then its events. A backend stopped with x in the live "
        "TUI is reported as stopped (its statistics cover the calls made until then); one that an interrupted "
        "run never measured as not started. Exit code 0, or 2 for bad input (missing or unreadable session, "
        "a directory or model file instead of a session, an -o path that cannot be written).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  infbench-tui report run.infb\n  infbench-tui report run.infb --format json > r.json\n",
    )
    p.add_argument("session", metavar="SESSION", help="session file (.infb) written by `run` or `sweep`")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default="-",
        help="write to PATH instead of stdout (its directory must exist)",
    )
    p.add_argument(
        "--all-events",
        action="store_true",
        help=f"list every event (table shows the first {MAX_EVENTS_SHOWN})",
    )
    p.add_argument(
        "--bootstrap", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)"
    )
    return p


def open_checked(path: str, command: str = "report") -> Any:
    """Open a session given to `command`; anything but a readable session file is a ConfigError (exit 2).

    See `infbench.commands.inputs` for the rule every session-reading command follows.
    """
    from infbench.commands.inputs import open_session_input

    return open_session_input(path, command)


def session_header(reader: Any) -> str:
    """One line describing a session: model, when, how long, outcome."""
    meta = reader.metadata
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(reader.t0_wall)) if reader.t0_wall else "?"
    dur = (reader.end_ns() - reader.t0_ns) / 1e9
    outcome = meta.get("outcome") or "cut off (no clean end recorded)"
    return (
        f"{reader.path}  model {reader.plan.get('model', '?')}  recorded {when}  {dur:.1f} s  "
        f"outcome {outcome}  infbench {meta.get('infbench_version', '?')}"
    )


def run(args: argparse.Namespace) -> int:
    """Print or write the report; 0 on success."""
    from infbench.analysis.summary import build_report
    from infbench.analysis.sweep import sweep_result
    from infbench.errors import ConfigError
    from infbench.report.json_out import json_text
    from infbench.report.results import results_csv, results_markdown

    if args.bootstrap < 10:
        raise ConfigError(f"--bootstrap must be at least 10, got {args.bootstrap}")
    from infbench.commands.inputs import check_output_path

    check_output_path(args.output, "-o")
    with open_checked(args.session) as reader:
        report = build_report(reader, n_boot=args.bootstrap, session=reader.metadata)
        header = session_header(reader)
        sweep = sweep_result(reader, report.variants)
    if args.format == "json":
        text = json_text({**report.to_json_dict(), "sweep": sweep.to_dict()} if sweep else report)
    elif args.format == "csv":
        text = results_csv(report)
    elif args.format == "md":
        from infbench.report.analysis import analysis_markdown
        from infbench.report.sections import sections_markdown
        from infbench.report.sweep import sweep_markdown

        text = (
            (
                f"# infbench report\n\n{header}\n\n"
                + results_markdown(report)
                + "\n"
                + analysis_markdown(report)
            )
            + (f"\n{s}" if (s := sections_markdown(report)) else "")
            + (f"\n{sweep_markdown(sweep)}" if sweep else "")
        )
    else:
        text = None
    if text is not None:
        return _emit(args.output, text)
    from rich.console import Console

    if args.output == "-":
        _print_table(Console(), header, report, args.all_events, sweep)
        return 0
    try:
        with open(Path(args.output).expanduser(), "w", encoding="utf-8") as f:
            _print_table(Console(file=f, width=200), header, report, args.all_events, sweep)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


def _print_table(console: Any, header: str, report: Report, all_events: bool, sweep: Any = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from infbench.report.analysis import print_analysis
    from infbench.report.results import print_results_table
    from infbench.report.sections import print_sections
    from infbench.report.style import styled
    from infbench.vocab import Tone

    console.print(escape(header))
    print_results_table(console, report)
    print_analysis(console, report)
    print_sections(console, report)
    if sweep is not None:
        from infbench.report.sweep import print_sweep

        print_sweep(console, sweep)
    events = report.events
    if not events:
        return
    shown = events if all_events else events[:MAX_EVENTS_SHOWN]
    table = Table(title="events", title_justify="left")
    for col in ("t (s)", "kind", "backend", "message"):
        table.add_column(col, justify="right" if col == "t (s)" else "left")
    for e in shown:
        kind = e.event_kind
        text, tone = (f"{kind.glyph} {e.kind}", kind.tone) if kind is not None else (e.kind, Tone.PLAIN)
        table.add_row(f"{e.t_s:.3f}", styled(text, tone), escape(e.backend or ""), escape(e.message))
    console.print(table)
    if len(shown) < len(events):
        console.print(f"… {len(events) - len(shown)} more events (--all-events)")


def _emit(output: str, text: str) -> int:
    from infbench.errors import ConfigError

    if output == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(output).expanduser().write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0
