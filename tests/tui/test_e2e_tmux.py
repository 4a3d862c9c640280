"""End to end: the real `infbench-tui run` in tmux — wait for live numbers, press keys, quit cleanly."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infbench.sessions.reader import open_session

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


def _tmux(sock: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=20, check=False
    ).stdout


def _wait_for(sock: str, pattern: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < end:
        screen = _tmux(sock, "capture-pane", "-p", "-t", "e2e")
        if re.search(pattern, screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {pattern!r}; screen:\n{screen}")


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)  # drives a real terminal with wall-clock waits: one retry, same assertions
def test_live_run_in_tmux(tmp_path: Path) -> None:
    save = tmp_path / "e2e.infb"
    exe = Path(sys.executable).with_name("infbench-tui")
    env = {
        k: os.environ[k]
        for k in ("INFBENCH_CACHE_DIR", "INFBENCH_DATA_DIR", "PYTHONPATH", "PATH", "HOME")
        if k in os.environ
    }
    cmd = (
        f"env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} TERM=xterm-256color "
        f"{shlex.quote(str(exe))} run bert-tiny -b ort -b null -d 3 --save {shlex.quote(str(save))}; "
        f"echo EXIT=$?; sleep 60"
    )
    sock = f"infbench-e2e-{os.getpid()}"
    _tmux(sock, "new-session", "-d", "-s", "e2e", "-x", "150", "-y", "45", cmd)
    try:
        _wait_for(sock, r"onnxruntime +(running|waiting its turn)", 120)
        # live numbers, headed by the metric registry's label (bert-tiny's median sits near 1 ms: µs or ms)
        _wait_for(sock, r"median \d+(?:\.\d+)? (?:µs|ms)", 60)
        _tmux(sock, "send-keys", "-t", "e2e", "p")
        _wait_for(sock, r"paused", 20)
        _tmux(sock, "send-keys", "-t", "e2e", "m")
        _wait_for(sock, r"Mark this moment", 10)
        _tmux(sock, "send-keys", "-t", "e2e", "-l", "tmux note")
        _tmux(sock, "send-keys", "-t", "e2e", "Enter")
        _wait_for(sock, r"tmux note", 10)
        _tmux(sock, "send-keys", "-t", "e2e", "p")
        _tmux(sock, "send-keys", "-t", "e2e", "q")
        screen = _wait_for(sock, r"EXIT=\d+", 60)
    finally:
        _tmux(sock, "kill-server")
    code = int(re.search(r"EXIT=(\d+)", screen).group(1))
    data = open_session(save)
    assert (code, data.outcome()) in ((130, "interrupted"), (0, "complete"))
    assert any(e.kind == "mark" and e.message == "tmux note" for e in data.events())
    assert data.samples("onnxruntime")[0].size > 0


FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sessions" / "small.infb"


def _launch(sock: str, size: tuple[int, int], args: str) -> None:
    exe = Path(sys.executable).with_name("infbench-tui")
    env = {
        k: os.environ[k]
        for k in ("INFBENCH_CACHE_DIR", "INFBENCH_DATA_DIR", "PYTHONPATH", "PATH", "HOME")
        if k in os.environ
    }
    cmd = (
        f"env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} TERM=xterm-256color "
        f"{shlex.quote(str(exe))} {args}; echo EXIT=$?; sleep 60"
    )
    _tmux(sock, "new-session", "-d", "-s", "e2e", "-x", str(size[0]), "-y", str(size[1]), cmd)


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
def test_replay_at_80x24_in_tmux_shows_every_backend_and_each_view() -> None:
    """A real 80×24 terminal: the compact layout's table has each backend's p50/p95/p99 on its row, and the
    view keys show the machine and the events; q leaves with 0."""
    sock = f"infbench-e2e-replay-{os.getpid()}"
    _launch(sock, (80, 24), f"replay --paused --start 2.3 {shlex.quote(str(FIXTURE))}")
    try:
        # the status the fixture stored at 2.3 s (its runner recorded "running" once measuring began)
        screen = _wait_for(sock, r"torch +running +\d+\.\d+ ms", 60)
        for label, p50, p95, p99 in (
            ("onnxruntime", "8.04", "8.62", "44.07"),
            ("openvino", "6.99", "7.65", "7.80"),
            ("torch", "15.20", "16.62", "16.79"),
        ):
            assert re.search(rf"{label} +\w+ +{p50} ms +{p95} ms +{p99} ms", screen), screen
        assert all(len(line) <= 80 for line in screen.splitlines())
        _tmux(sock, "send-keys", "-t", "e2e", "3")
        _wait_for(sock, r"onnxruntime: call 6x the median", 20)
        _tmux(sock, "send-keys", "-t", "e2e", "2")
        _wait_for(sock, r"RSS  onnxruntime 135 MB", 20)
        _tmux(sock, "send-keys", "-t", "e2e", "q")
        screen = _wait_for(sock, r"EXIT=\d+", 30)
    finally:
        _tmux(sock, "kill-server")
    assert re.search(r"EXIT=0\b", screen)


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
def test_q_on_a_finished_live_run_in_tmux_exits_0(tmp_path: Path) -> None:
    save = tmp_path / "done.infb"
    sock = f"infbench-e2e-done-{os.getpid()}"
    _launch(
        sock, (120, 40), f"run bert-tiny -b null -d 1 -n 10 --no-monitors --save {shlex.quote(str(save))}"
    )
    try:
        _wait_for(sock, r"run complete", 120)
        _tmux(sock, "send-keys", "-t", "e2e", "q")
        screen = _wait_for(sock, r"EXIT=\d+", 60)
    finally:
        _tmux(sock, "kill-server")
    assert re.search(r"EXIT=0\b", screen), screen
    assert open_session(save).outcome() == "complete"
