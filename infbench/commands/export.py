"""`infbench-tui export SESSION`: raw samples, monitor readings or events as CSV or JSON (for pandas/polars)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `export` subcommand."""
    p = sub.add_parser(
        "export",
        help="raw data of a session as CSV/JSON",
        description="Export the raw data of a recorded session. samples: backend, phase, start_ns, t_s "
        "(seconds since t=0), dur_ns, latency_ms. monitors: t_ns, t_s, metric, value. events: t_ns, "
        "t_s, kind, backend, message, data. JSON is an array of records "
        "(pandas.read_json(path), polars.read_json(path)).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  infbench-tui export run.infb --format csv --what samples -o samples.csv\n"
        "  infbench-tui export run.infb --format json --what events -o -\n",
    )
    p.add_argument("session", metavar="SESSION", help="session file (.infb)")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default: csv)")
    p.add_argument(
        "--what",
        choices=("samples", "monitors", "events"),
        default="samples",
        help="which data (default: samples)",
    )
    p.add_argument(
        "-o", "--output", metavar="PATH", default="-", help="output file, '-' for stdout (default)"
    )
    p.add_argument(
        "--backend", action="append", metavar="NAME", help="samples of this backend only (repeatable)"
    )
    p.add_argument("--phase", choices=("warmup", "measure"), help="samples of this phase only")
    return p


def run(args: argparse.Namespace) -> int:
    """Write the export; 0 on success."""
    from infbench.commands.report import open_checked
    from infbench.errors import ConfigError
    from infbench.sessions.export import write_events, write_monitors, write_samples

    with open_checked(args.session) as reader:
        if args.backend:
            unknown = [b for b in args.backend if b not in reader.backend_infos()]
            if unknown:
                raise ConfigError(
                    f"--backend {unknown[0]}: not in this session (has {', '.join(reader.backend_infos())})"
                )
        with _open_out(args.output) as out:
            if args.what == "samples":
                write_samples(reader, out, args.format, labels=args.backend, phase=args.phase)
            elif args.what == "monitors":
                write_monitors(reader, out, args.format)
            else:
                write_events(reader, out, args.format)
    return 0


@contextlib.contextmanager
def _open_out(output: str) -> Any:
    from infbench.errors import ConfigError

    if output == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        f = open(Path(output).expanduser(), "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
    with f:
        yield f
