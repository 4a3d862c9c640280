"""Parent side of one engine: spawns the worker child, drives turns, forwards blocks, watches for crashes.

Each method that waits on the child has a watchdog: a child silent for `timeout_s` is killed and reported
as hung; a child that dies (segfault, abort, OOM kill) is reported with its signal or exit code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import psutil

from infbench.engines.base import ModelFiles
from infbench.errors import EngineFailure
from infbench.records import RunEvent, SampleBlock

_POLL_S = 0.1


class TurnResult(NamedTuple):
    """What one turn did: calls made, time inside the calls, the turn's wall time (ns), and the turn's span.

    `t_begin_ns` and `t_end_ns` are the worker's perf_counter_ns at the start and end of the turn (the clock of
    the samples); every call of the turn lies inside them and ``wall_ns == t_end_ns - t_begin_ns``.
    """

    calls: int
    busy_ns: int
    wall_ns: int
    t_begin_ns: int
    t_end_ns: int


def describe_exit(exitcode: int | None) -> str:
    """Human words for a child's exit code: ``killed by SIGSEGV (segmentation fault)`` or ``exit code 3``."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            sig = signal.Signals(-exitcode)
            desc = signal.strsignal(sig) or ""
            hint = (
                " — out of memory? (the kernel's OOM killer sends SIGKILL)" if sig == signal.SIGKILL else ""
            )
            return f"killed by {sig.name} ({desc.lower()}){hint}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class EngineHost:
    """One engine child process and the thread-blocking calls that drive it.

    Not thread-safe except `halt()` and `kill()`, which another thread may call during `run_turn`.
    """

    def __init__(
        self,
        label: str,
        backend: str,
        options: dict[str, Any],
        model: ModelFiles,
        inputs: list[dict[str, np.ndarray]],
        on_block: Callable[[SampleBlock], None],
        on_event: Callable[[RunEvent], None],
        timeout_s: float = 120.0,
        log_dir: str | None = None,
        on_phase: Callable[[str, int], None] | None = None,
        workload: dict[str, Any] | None = None,
    ) -> None:
        self.label = label
        self.backend = backend
        self.options = options
        self.model = model
        self.inputs = inputs
        self.workload = dict(workload or {})
        self.on_block = on_block
        self.on_event = on_event
        self.timeout_s = timeout_s
        self.log_path = str(
            Path(log_dir or tempfile.gettempdir()) / f"infbench-{os.getpid()}-{_safe(label)}.log"
        )
        self.process: subprocess.Popen | None = None
        self._conn: Any = None
        self._send_lock = threading.Lock()
        self.loaded: dict[str, Any] = {}
        self.first: dict[str, Any] = {}
        self.output: np.ndarray | None = None
        self.rss_after_load_mb: float | None = None
        self.on_phase = on_phase
        self.phases: list[tuple[str, int]] = []  # (load phase, perf_counter_ns when it began), in order
        self._killed = False

    @property
    def pid(self) -> int | None:
        """The child's pid once started."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Spawn the child and wait until it has loaded, run its first inference and sent its first output.

        Each load phase (`base.LOAD_PHASES`: "start" when the child is spawned, then those the child reports) is
        appended to `phases` and passed to `on_phase(name, t_ns)` as it begins; the watchdog's `timeout_s`
        counts from the latest message, so it applies to each phase.

        Raises:
            EngineFailure: the engine could not load, crashed or hung.
        """
        ours, theirs = socket.socketpair()
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        self._phase("start", time.perf_counter_ns())
        with open(self.log_path, "ab") as log:
            # A new session: the terminal's Ctrl-C reaches only the app, which stops children in order.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "infbench.engines.worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        theirs.close()
        self._conn = Connection(ours.detach())
        if self._killed:  # `kill()` from another thread came before the child existed
            self.kill()
            raise EngineFailure(f"{self.label}: killed while loading")
        self._send(
            (
                "spec",
                {
                    "backend": self.backend,
                    "label": self.label,
                    "options": self.options,
                    "model": self.model,
                    "inputs": self.inputs,
                    "workload": self.workload,
                },
            )
        )
        while self.output is None:
            msg = self._recv(f"loading ({self.phases[-1][0]})")
            if msg[0] == "phase":
                self._phase(msg[1], int(msg[2]))
            elif msg[0] == "loaded":
                self.loaded = msg[1]
                self.rss_after_load_mb = self.rss_mb()
            elif msg[0] == "first":
                self.first = msg[1]
            elif msg[0] == "output":
                self.output = msg[1]

    def _phase(self, name: str, t_ns: int) -> None:
        self.phases.append((name, t_ns))
        if self.on_phase is not None:
            self.on_phase(name, t_ns)

    def phase_seconds(self, end_ns: int | None = None) -> dict[str, float]:
        """Seconds spent in each load phase so far (the last one until `end_ns`, default now)."""
        end = time.perf_counter_ns() if end_ns is None else end_ns
        bounds = [t for _, t in self.phases[1:]] + [end]
        return {name: max(0, b - t) / 1e9 for (name, t), b in zip(self.phases, bounds)}

    def run_turn(self, phase: str, calls: int | None = None, seconds: float | None = None) -> TurnResult:
        """Run one turn (until every given target is met, or `halt()`); forward blocks as they arrive."""
        self._send(("run", {"phase": phase, "calls": calls, "seconds": seconds}))
        while True:
            msg = self._recv(phase)
            kind = msg[0]
            if kind == "block":
                self.on_block(_block(self.label, msg))
            elif kind == "gc":
                for t_ns, dur_ns, gen in msg[1]:
                    self.on_event(
                        RunEvent(
                            t_ns,
                            "gc",
                            f"garbage collection (gen {gen}) {dur_ns / 1e6:.1f} ms",
                            self.label,
                            {"duration_ms": dur_ns / 1e6, "generation": gen},
                        )
                    )
            elif kind == "done":
                done = msg[1]
                return TurnResult(
                    int(done["count"]),
                    int(done["busy_ns"]),
                    int(done["wall_ns"]),
                    int(done["t_begin_ns"]),
                    int(done["t_end_ns"]),
                )

    def halt(self) -> None:
        """Ask the current turn to end at its next flush (≤ 50 ms). Safe from any thread."""
        with contextlib.suppress(OSError, EngineFailure):
            self._send(("halt",))

    def rss_mb(self) -> float | None:
        """The child's resident memory now, MB."""
        try:
            return psutil.Process(self.pid).memory_info().rss / 2**20 if self.pid else None
        except (psutil.Error, OSError):
            return None

    def peak_rss_mb(self) -> float | None:
        """The child's peak resident memory (VmHWM on Linux), MB."""
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
        return self.rss_mb()

    def stop(self, grace_s: float = 5.0) -> None:
        """Ask the child to exit; kill it when it does not within `grace_s`."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                self._send(("stop",))
        except (OSError, EngineFailure):
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace_s)
        self.kill()

    def kill(self) -> None:
        """Kill the child now (if alive) and reap it; a `start()` under way in another thread then raises
        EngineFailure (also when the child is not spawned yet)."""
        self._killed = True
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()

    def log_tail(self, lines: int = 3) -> str:
        """The last lines the child printed (native errors land there)."""
        try:
            text = Path(self.log_path).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(x.strip() for x in text[-lines:] if x.strip())

    def _send(self, msg: tuple) -> None:
        with self._send_lock:
            if self._conn is None:
                raise EngineFailure(f"{self.label}: engine process not started")
            try:
                self._conn.send(msg)
            except (OSError, ValueError) as exc:
                raise self._failure("while sending a command") from exc

    def _recv(self, stage: str) -> tuple:
        """Next message from the child, or EngineFailure on crash, error report or silence."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                if self._conn.poll(_POLL_S):
                    msg = self._conn.recv()
                    if msg[0] == "error":
                        self._reap(5)
                        self.kill()
                        raise EngineFailure(f"{self.label}: {msg[1]} failed: {msg[2]}")
                    return msg
            except (EOFError, OSError) as exc:
                raise self._failure(f"while {stage}") from exc
            if self.process is not None and self.process.poll() is not None:
                raise self._failure(f"while {stage}")
            if time.monotonic() > deadline:
                self.kill()
                raise EngineFailure(
                    f"{self.label}: hung while {stage}: no answer for {self.timeout_s:g} s, killed by the watchdog"
                )

    def _reap(self, timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)  # type: ignore[union-attr]

    def _failure(self, when: str) -> EngineFailure:
        assert self.process is not None
        self._reap(2)
        code = self.process.returncode
        tail = self.log_tail()
        self.kill()
        msg = f"{self.label}: engine process died {when}: {describe_exit(code)}"
        return EngineFailure(msg + (f"; its last output: {tail}" if tail else ""))


def _block(label: str, msg: tuple) -> SampleBlock:
    """A worker's ``block`` message as a SampleBlock; its optional sixth item holds call parts and tokens."""
    extra: dict[str, Any] = dict(msg[5]) if len(msg) > 5 and msg[5] else {}
    tokens = extra.pop("tokens", None)
    counts = extra.pop("token_counts", None)
    parts = {str(k): np.asarray(v, dtype=np.int64) for k, v in extra.items()}
    return SampleBlock(
        label,
        msg[1],
        msg[2],
        msg[3],
        msg[4],
        parts,
        None if tokens is None else np.asarray(tokens, dtype=np.int64),
        None if counts is None else np.asarray(counts, dtype=np.int32),
    )


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
