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
        "(pandas.read_json(path), polars.read_json(path)). Exit code 0, or 2 for bad input (missing or "
        "unreadable session, a directory or model file instead of a session, an -o path that cannot be "
        "written, a backend the session does not have).",
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
        "--backend",
        action="append",
        metavar="NAME",
        help="samples of this backend only (repeatable): a label of the session, or a backend name or alias "
        "(onnxruntime/ort, openvino/ov, torch) standing for its only label; an unknown name lists the valid ones",
    )
    p.add_argument("--phase", choices=("warmup", "measure"), help="samples of this phase only")
    return p


def run(args: argparse.Namespace) -> int:
    """Write the export; 0 on success."""
    from infbench.commands.inputs import check_output_path, resolve_labels
    from infbench.commands.report import open_checked
    from infbench.errors import ConfigError
    from infbench.sessions.export import write_events, write_monitors, write_samples

    if args.backend and args.what != "samples":
        raise ConfigError(f"--backend selects samples: it does nothing with --what {args.what}")
    if args.phase and args.what != "samples":
        raise ConfigError(f"--phase selects samples: it does nothing with --what {args.what}")
    check_output_path(args.output, "-o")
    with open_checked(args.session, "export") as reader:
        labels = (
            resolve_labels(args.backend, reader.backend_infos(), str(args.session)) if args.backend else None
        )
        with _open_out(args.output) as out:
            if args.what == "samples":
                write_samples(reader, out, args.format, labels=labels, phase=args.phase)
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
