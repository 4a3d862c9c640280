"""Whole-program arms of the observer-effect bench: the live TUI in tmux, the headless run, a fresh bare loop.

Each arm is one fresh process per turn, so one round (one turn of each arm, order rotated per round) holds the
process-to-process spread of all three and resampling rounds covers it. The live and headless turns are the real
``infbench-tui run MODEL -b ort …`` with ``--save``; their call durations are the measure-phase samples of the
saved session. The live turn runs in a tmux pane that refreshes as a user sees it; the bench waits for the header
to say ``run <outcome>`` and then presses q.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).with_name("infbench-tui")
# the live header's state once the run is over: "run complete", "run interrupted", "run failed" …
ENDED = re.compile(r"\brun (complete|interrupted|failed|degraded|ended|stopped)\b")
ARMS = ("live", "headless", "bare")


@dataclass(frozen=True)
class ArmConfig:
    """What every arm of one comparison runs: model, thread setting, seconds per turn, pane size."""

    model: str
    threads: int | None  # None: the backend's default threads (every core)
    seconds: float
    size: tuple[int, int] = (120, 40)
    timeout: float = 120.0

    def cli_args(self) -> list[str]:
        """`infbench-tui run` arguments for this configuration (without --save / --headless)."""
        args = ["run", self.model, "-b", "ort", "-d", f"{self.seconds:g}", "-n", "1"]
        if self.threads is not None:
            args += ["--threads", str(self.threads), "--inter-threads", str(self.threads)]
        return args


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["INFBENCH_DATA_DIR"] = str(work / "data")  # keeps the user's session store untouched
    env["TERM"] = "xterm-256color"
    return env


def session_durations(path: Path) -> np.ndarray:
    """Measure-phase call durations (ns) of the one backend recorded in the session at `path`."""
    from infbench.sessions.reader import open_session

    with open_session(path) as data:
        labels = list(data.backend_infos())
        if len(labels) != 1:
            raise RuntimeError(f"{path}: expected one backend, found {labels}")
        outcome = data.outcome()
        if outcome != "complete":
            raise RuntimeError(f"{path}: run {outcome}, not complete")
        _, dur = data.samples(labels[0], phase="measure")
    if dur.size == 0:
        raise RuntimeError(f"{path}: no measured calls")
    return np.asarray(dur, dtype=np.int64)


def _tmux(sock: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=20, check=False
    ).stdout


def live_turn(cfg: ArmConfig) -> np.ndarray:
    """One live TUI run in a tmux pane of cfg.size; its measured call durations (ns)."""
    with tempfile.TemporaryDirectory(prefix="infbench-live-") as tmp:
        work = Path(tmp)
        save = work / "live.infb"
        env = _env(work)
        inner = shlex.join([str(EXE), *cfg.cli_args(), "--save", str(save)])
        exports = " ".join(f"{k}={shlex.quote(env[k])}" for k in ("PYTHONPATH", "INFBENCH_DATA_DIR", "TERM"))
        cmd = f"cd {shlex.quote(tmp)} && env {exports} {inner}; echo EXIT=$?; sleep 60"
        sock = f"infbench-oe-{os.getpid()}"
        w, h = cfg.size
        _tmux(sock, "new-session", "-d", "-s", "oe", "-x", str(w), "-y", str(h), cmd)
        screen = ""
        try:
            end = time.monotonic() + cfg.timeout
            while time.monotonic() < end:
                screen = _tmux(sock, "capture-pane", "-p", "-t", "oe")
                header = screen.splitlines()[0] if screen else ""
                if ENDED.search(header) or "EXIT=" in screen:
                    break
                time.sleep(0.25)  # a slow poll: capture-pane costs the machine a little CPU
            else:
                raise RuntimeError(f"live run did not end within {cfg.timeout:g} s; screen:\n{screen}")
            _tmux(sock, "send-keys", "-t", "oe", "q")
            end = time.monotonic() + 30
            while time.monotonic() < end and "EXIT=" not in screen:
                time.sleep(0.2)
                screen = _tmux(sock, "capture-pane", "-p", "-t", "oe")
        finally:
            _tmux(sock, "kill-server")
        if "EXIT=0" not in screen:
            raise RuntimeError(f"live run did not exit 0; screen:\n{screen}")
        return session_durations(save)


def headless_turn(cfg: ArmConfig) -> np.ndarray:
    """One `infbench-tui run --headless` (output to a pipe, as in a script); its measured call durations (ns)."""
    with tempfile.TemporaryDirectory(prefix="infbench-headless-") as tmp:
        work = Path(tmp)
        save = work / "headless.infb"
        proc = subprocess.run(
            [str(EXE), *cfg.cli_args(), "--headless", "--save", str(save)],
            cwd=tmp,
            env=_env(work),
            capture_output=True,
            text=True,
            timeout=cfg.timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"headless run exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        return session_durations(save)


def bare_turn(cfg: ArmConfig, onnx_path: str, feeds_path: str) -> np.ndarray:
    """One fresh bench/_bare_loop.py process: load, warm up, time calls for cfg.seconds; durations (ns)."""
    threads = "default" if cfg.threads is None else str(cfg.threads)
    with tempfile.TemporaryDirectory(prefix="infbench-bare-") as tmp:
        out = Path(tmp) / "bare.npy"
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "_bare_loop.py"),
                "onnxruntime",
                onnx_path,
                "",
                feeds_path,
                threads,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("bare loop did not start")
            proc.stdin.write(f"run {cfg.seconds} {out}\nquit\n")
            proc.stdin.flush()
            if proc.stdout.readline().strip() != "done":
                raise RuntimeError("bare loop did not finish its turn")
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return np.load(out)


def run_rounds(
    cfg: ArmConfig, rounds: int, onnx_path: str, feeds_path: str, log=print
) -> dict[str, list[np.ndarray]]:
    """`rounds` rounds of one turn per arm, the order rotated each round (live, headless, bare → …)."""
    turns: dict[str, list[np.ndarray]] = {arm: [] for arm in ARMS}
    for r in range(rounds):
        order = ARMS[r % 3 :] + ARMS[: r % 3]
        for arm in order:
            t0 = time.monotonic()
            if arm == "live":
                d = live_turn(cfg)
            elif arm == "headless":
                d = headless_turn(cfg)
            else:
                d = bare_turn(cfg, onnx_path, feeds_path)
            turns[arm].append(d)
            log(
                f"  round {r + 1}/{rounds} {arm:8s} {d.size:6d} calls, p50 {np.median(d) / 1e6:.3f} ms, "
                f"p99 {np.percentile(d, 99) / 1e6:.3f} ms ({time.monotonic() - t0:.1f} s)"
            )
    return turns
