"""Logging for infbench: the CLI's console output (`-v`, `-vv`, `--log-level`) and the warnings a run records.

Every module logs through ``logging.getLogger(__name__)``, i.e. under the ``infbench`` logger. The CLI calls
`cli_logging` once: records at the chosen level (default WARNING) go to stderr, one line each, with a traceback
only at DEBUG. Independently of that level, a recorded run attaches a `RunLogHandler` (`recording_warnings`)
that turns every WARNING-or-worse record into a ``log`` `RunEvent`, so the session keeps what went wrong.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from infbench.records import RunEvent
from infbench.vocab import EventKind

__all__ = [
    "LEVELS",
    "LOGGER",
    "ConsoleHandler",
    "RunLogHandler",
    "add_arguments",
    "cli_logging",
    "level_from_args",
    "one_line",
    "recording_warnings",
]

LOGGER = "infbench"
LEVELS = ("debug", "info", "warning", "error", "critical")
_DEFAULT_LEVEL = logging.WARNING


def add_arguments(parser: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """Add ``-v/--verbose`` and ``--log-level`` to `parser`.

    With `sub` (a subcommand's parser) the options write to their own destinations with no defaults, so
    ``infbench-tui -v run …`` and ``infbench-tui run -v …`` both work and neither resets the other.
    """
    prefix = "sub_" if sub else ""
    default: Any = argparse.SUPPRESS if sub else None
    group = parser.add_argument_group("logging")
    group.add_argument(
        "-v",
        "--verbose",
        dest=prefix + "verbose",
        action="count",
        default=argparse.SUPPRESS if sub else 0,
        help="log more on stderr: -v info, -vv debug (with tracebacks)",
    )
    group.add_argument(
        "--log-level",
        dest=prefix + "log_level",
        type=str.lower,
        choices=LEVELS,
        default=default,
        metavar="LEVEL",
        help=f"stderr log level: {', '.join(LEVELS)} (default warning; overrides -v)",
    )


def level_from_args(args: argparse.Namespace) -> int:
    """The console level the parsed options ask for: ``--log-level`` wins, else -v/-vv, else WARNING.

    A subcommand's own ``--log-level`` wins over the top-level one; -v counts before and after add up.
    """
    name = getattr(args, "sub_log_level", None) or getattr(args, "log_level", None)
    if name:
        return int(logging.getLevelName(name.upper()))
    verbose = int(getattr(args, "verbose", 0) or 0) + int(getattr(args, "sub_verbose", 0) or 0)
    return {0: _DEFAULT_LEVEL, 1: logging.INFO}.get(verbose, logging.DEBUG)


def one_line(record: logging.LogRecord) -> str:
    """The record's message on one line, with its exception (type and text, no traceback) appended."""
    try:
        msg = record.getMessage()
    except (TypeError, ValueError) as exc:  # bad %-arguments in a log call: still say something
        msg = f"{record.msg!r} (unformattable log arguments: {exc})"
    if record.exc_info and record.exc_info[1] is not None:
        exc_value = record.exc_info[1]
        msg = f"{msg}: {type(exc_value).__name__}: {exc_value}"
    return " ".join(msg.split("\n")).strip()


class _ConsoleFormatter(logging.Formatter):
    """``PROG: warning: message`` on one line; at DEBUG also the logger name and any traceback."""

    def __init__(self, prog: str, tracebacks: bool) -> None:
        super().__init__()
        self.prog = prog
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        """Format `record` as described in the class docstring."""
        if not self.tracebacks:
            return f"{self.prog}: {record.levelname.lower()}: {one_line(record)}"
        line = f"{self.prog}: {record.levelname.lower()}: {record.getMessage()} [{record.name}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class ConsoleHandler(logging.Handler):
    """Writes to the *current* ``sys.stderr`` at each record (so a TUI's or a test's redirection is honoured)."""

    def __init__(self, level: int, prog: str) -> None:
        super().__init__(level)
        self.setFormatter(_ConsoleFormatter(prog, tracebacks=level <= logging.DEBUG))

    @property
    def stream(self) -> TextIO:
        """Where records go now."""
        return sys.stderr

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record."""
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or a broken pipe: nowhere left to say it
            pass
        except Exception:
            self.handleError(record)


@contextmanager
def cli_logging(level: int, prog: str = "infbench-tui") -> Iterator[ConsoleHandler]:
    """Send ``infbench`` records at `level` or worse to stderr while the block runs; restore afterwards.

    The ``infbench`` logger itself stays open to WARNING even when the console asks for less (``--log-level
    error``), so a recorded run still keeps its warnings.
    """
    logger = logging.getLogger(LOGGER)
    handler = ConsoleHandler(level, prog)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, logging.WARNING))
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class RunLogHandler(logging.Handler):
    """Turns WARNING-or-worse ``infbench`` records into ``log`` `RunEvent`s delivered to a run's listener.

    ``emit`` only queues the event (stamped with `clock_ns` when logged); one daemon thread delivers them, so a
    record logged while some thread holds a listener's lock cannot deadlock, and records logged by the listener
    while it handles a delivery (on the delivery thread) are ignored instead of recursing. A listener that
    raises loses that event (counted in `dropped`); nothing here ever raises into the code that logged.

    Attributes:
        listener: has ``on_event(RunEvent)`` (a `RunListener`, e.g. the run's fan-out or a `LiveStore`).
        clock_ns: the run's clock (``time.perf_counter_ns``).
        dropped: events that could not be built or delivered.
    """

    def __init__(
        self, listener: Any, clock_ns: Callable[[], int] = time.perf_counter_ns, level: int = logging.WARNING
    ) -> None:
        super().__init__(level)
        self.listener = listener
        self.clock_ns = clock_ns
        self.dropped = 0
        self._closed = False
        self._queue: queue.SimpleQueue[RunEvent | threading.Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._deliver, name="infbench-log", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        """Queue `record` as a ``log`` event (ignored on the delivery thread and after `close`)."""
        if self._closed or threading.current_thread() is self._thread:
            return
        try:
            event = RunEvent(
                int(self.clock_ns()),
                EventKind.LOG,
                one_line(record),
                None,
                {"logger": record.name, "level": record.levelname.lower()},
            )
        except Exception:  # a broken clock: never raise into the caller that logged
            self.dropped += 1
            return
        self._queue.put(event)

    def _deliver(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self.listener.on_event(item)
            except Exception:  # logging it would come back here: count it instead
                self.dropped += 1

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every event queued so far reached the listener; False on timeout (or when called by
        the listener itself, which would wait for its own return)."""
        if threading.current_thread() is self._thread:
            return False
        if not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def flush(self) -> None:
        """`drain` with its default timeout (the `logging.Handler` interface)."""
        self.drain()

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the delivery thread. Idempotent."""
        if not self._closed:
            self._closed = True
            self.drain(timeout)
            self._queue.put(None)
            if threading.current_thread() is not self._thread:
                self._thread.join(timeout)
        super().close()


@contextmanager
def recording_warnings(
    listener: Any, clock_ns: Callable[[], int] = time.perf_counter_ns
) -> Iterator[RunLogHandler]:
    """Record every WARNING-or-worse ``infbench`` record logged inside the block as a ``log`` event.

    On exit the events still queued are delivered before the handler detaches, so leave the block before the
    session is closed.
    """
    logger = logging.getLogger(LOGGER)
    handler = RunLogHandler(listener, clock_ns)
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:  # an embedding app silenced warnings: still record them
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
