"""`infbench-tui export SESSION`: raw samples, per-token stamps, monitor readings or events as CSV or JSON (for
pandas/polars)."""

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
        "(seconds since t=0), dur_ns, latency_ms. tokens (generate sessions): backend, phase, call, token, "
        "stamp_ns, t_s, gap_ns — one row per decoding step, gap_ns the time since the previous token (for token 0 "
        "since the call's start: its time to first token). monitors: t_ns, t_s, metric, value. events: t_ns, "
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
        choices=("samples", "tokens", "monitors", "events"),
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
        help="samples or tokens of this backend only (repeatable): a label of the session, or a backend name or alias "
        "(onnxruntime/ort, openvino/ov, torch) standing for its only label; an unknown name lists the valid ones",
    )
    p.add_argument("--phase", choices=("warmup", "measure"), help="samples or tokens of this phase only")
    return p


def run(args: argparse.Namespace) -> int:
    """Write the export; 0 on success."""
    from infbench.commands.inputs import check_output_path, resolve_labels
    from infbench.commands.report import open_checked
    from infbench.errors import ConfigError
    from infbench.sessions.export import write_events, write_monitors, write_samples

    if args.backend and args.what not in ("samples", "tokens"):
        raise ConfigError(f"--backend selects samples or tokens: it does nothing with --what {args.what}")
    if args.phase and args.what not in ("samples", "tokens"):
        raise ConfigError(f"--phase selects samples or tokens: it does nothing with --what {args.what}")
    check_output_path(args.output, "-o")
    with open_checked(args.session, "export") as reader:
        labels = (
            resolve_labels(args.backend, reader.backend_infos(), str(args.session)) if args.backend else None
        )
        with _open_out(args.output) as out:
            if args.what == "samples":
                write_samples(reader, out, args.format, labels=labels, phase=args.phase)
            elif args.what == "tokens":
                write_tokens(reader, out, args.format, labels=labels, phase=args.phase)
            elif args.what == "monitors":
                write_monitors(reader, out, args.format)
            else:
                write_events(reader, out, args.format)
    return 0


TOKEN_COLUMNS = ("backend", "phase", "call", "token", "stamp_ns", "t_s", "gap_ns")


def write_tokens(
    reader: Any, out: Any, fmt: str, labels: list[str] | None = None, phase: str | None = None
) -> int:
    """One row per decoding step of every generating call (optionally of some backends / one phase): the call's
    index in its phase, the token's index in the call, its stamp and the gap since the previous token (token 0:
    since the call's start). Returns the row count; a session without token stamps gives no rows."""
    import numpy as np

    from infbench.analysis.generation import read_tokens
    from infbench.sessions.export import _Writer

    w = _Writer(out, fmt, TOKEN_COLUMNS)
    n = 0
    for label in labels or list(reader.backend_infos()):
        for ph in (phase,) if phase else ("warmup", "measure"):
            start, counts, stamps = read_tokens(reader, label, ph)
            if not stamps.size:
                continue
            call = np.repeat(np.arange(counts.size), counts)
            first = np.cumsum(counts) - counts
            token = np.arange(stamps.size) - np.repeat(first, counts)
            prev = np.concatenate([[0], stamps[:-1]])
            prev[first[counts > 0]] = start[counts > 0]
            t_s = np.round((stamps - reader.t0_ns) / 1e9, 9)
            rows = list(
                zip(
                    [label] * stamps.size,
                    [ph] * stamps.size,
                    call.tolist(),
                    token.tolist(),
                    stamps.tolist(),
                    t_s.tolist(),
                    (stamps - prev).tolist(),
                )
            )
            w.rows(rows)
            n += len(rows)
    w.close()
    return n


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
