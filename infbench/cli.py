"""Command line entry point: `infbench-tui [SUBCOMMAND] …`.

Each subcommand lives in `infbench/commands/<name>.py` and provides `add_parser(subparsers)` and
`run(args) -> int`. Command modules import heavy packages only inside `run`, so `--help` stays fast.
Errors a user can fix (`InfbenchError`) become one line on stderr and a non-zero exit, never a traceback. Bad
input is exit code 2 in every subcommand: a bad argument, a missing or unreadable input file (also a directory
or a model file given where a session is expected), an output path that cannot be written.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from types import ModuleType

from infbench import __version__, logs
from infbench.errors import InfbenchError, SessionError

log = logging.getLogger(__name__)

COMMANDS = ("run", "replay", "report", "compare", "export", "sweep", "doctor", "models")
# Commands whose input is a session file: an unreadable or corrupt one is bad input (exit 2), like a bad argument.
SESSION_INPUT_COMMANDS = frozenset({"replay", "report", "compare", "export"})
PROG = "infbench-tui"


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (plus a hint) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _command_modules() -> dict[str, ModuleType]:
    mods = {}
    for name in COMMANDS:
        try:
            mods[name] = importlib.import_module(f"infbench.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"infbench.commands.{name}":
                raise
    return mods


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The top-level parser with every available subcommand, and the command modules by name."""
    parser = _Parser(
        prog=PROG,
        description=(
            "Benchmark ML inference backends (ONNX Runtime, OpenVINO, PyTorch/transformers) side by side, live, "
            "while watching the machine; every run is recorded for replay, report and compare. "
            "With no subcommand, opens the live TUI on the built-in default model with every installed backend."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            f"  {PROG}                                   live TUI, built-in bert-small, all backends\n"
            f"  {PROG} run bert-tiny --backend ort --backend ov --headless --json out.json\n"
            f"  {PROG} report SESSION.infb\n"
            f"  {PROG} compare BEFORE.infb AFTER.infb --threshold 5%\n"
            f"  {PROG} models\n"
            "\nexit codes: 0 ok; 1 a backend failed or degraded, or (compare) a regression; 2 bad arguments or\n"
            "input files (missing, a directory, not a session, unwritable output); 130 interrupted\n"
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    logs.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = _command_modules()
    for module in modules.values():
        module.add_parser(sub)
    for command_parser in {id(p): p for p in sub.choices.values()}.values():  # aliases share a parser
        logs.add_arguments(command_parser, sub=True)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`, set up logging (``-v``, ``-vv``, ``--log-level``) and run the subcommand; returns the
    exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    with logs.cli_logging(logs.level_from_args(args), PROG):
        return _run(parser, modules, args)


def _run(parser: argparse.ArgumentParser, modules: dict[str, ModuleType], args: argparse.Namespace) -> int:
    try:
        if args.command is None:
            if "run" not in modules:
                parser.print_help()
                return 0
            args = parser.parse_args(["run", "--setup"])
        return int(modules[args.command].run(args) or 0)
    except InfbenchError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        if isinstance(exc, SessionError) and args.command in SESSION_INPUT_COMMANDS:
            return 2  # a session given as input that cannot be read: bad input, as a missing file
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if os.environ.get("INFBENCH_DEBUG"):
            raise
        log.debug("internal error", exc_info=True)  # the traceback, with -vv
        sys.stderr.write(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} (-vv or INFBENCH_DEBUG=1 for the traceback)\n"
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
