"""`infbench-tui replay SESSION`: the live screen fed from a recorded session, with play/pause/seek."""

from __future__ import annotations

import argparse
from typing import Any

from infbench.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `replay` subcommand."""
    p = sub.add_parser(
        "replay",
        help="replay a recorded session in the TUI",
        description="Replay a session file in the same screen the live run showed: space play/pause, ←/→ seek "
        "±10 s, +/- speed (0.25×–32×), n/N next/previous event, click or drag the scrubber. At the "
        "end the statistics are exactly those of `report`; a sweep session prints its sweep table and "
        "recommendation when the replay closes, as the live sweep does. Exit code 2 for bad input: a missing or "
        "unreadable session, a directory or model file instead of a session.",
    )
    p.add_argument("session", help="session file (.infb) written by `run`")
    p.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="playback speed, 0.25–32 (default 1)"
    )
    p.add_argument("--start", type=float, default=0.0, metavar="S", help="start at S seconds after t=0")
    p.add_argument("--paused", action="store_true", help="open paused at --start")
    return p


def run(args: argparse.Namespace) -> int:
    """Open the session and replay it; a bad file gives one line and exit code 2 before the TUI starts."""
    if not 0.25 <= args.speed <= 32:
        raise ConfigError(f"--speed must be between 0.25 and 32, got {args.speed:g}")
    if args.start < 0:
        raise ConfigError(f"--start must not be negative, got {args.start:g}")
    from infbench.commands.inputs import open_session_input

    with open_session_input(args.session, "replay"):  # a bad file: one line, exit 2, before the TUI starts
        pass
    from infbench.tui.launch import run_replay

    code = run_replay(args.session, speed=args.speed, start_s=args.start, paused=args.paused)
    print_sweep_of(args.session)
    return code


def print_sweep_of(session: str, console: Any = None) -> None:
    """For a sweep session, print its sweep table, Pareto set and recommendation, as the live sweep does when
    its TUI closes (the grid is stored in the session's plan); nothing for any other session."""
    from rich.console import Console

    from infbench.analysis.summary import build_report
    from infbench.analysis.sweep import sweep_result
    from infbench.report.sweep import print_sweep
    from infbench.sessions.reader import open_session

    with open_session(session) as data:
        if not (data.plan or {}).get("sweep"):
            return
        result = sweep_result(data, build_report(data, analysis=False).variants)
    if result is not None:
        print_sweep(console or Console(), result)
