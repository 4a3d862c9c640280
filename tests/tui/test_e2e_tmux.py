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
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=20,
                          check=False).stdout


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
    env = {k: os.environ[k] for k in ("INFBENCH_CACHE_DIR", "INFBENCH_DATA_DIR", "PYTHONPATH", "PATH", "HOME")
           if k in os.environ}
    cmd = (f"env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} TERM=xterm-256color "
           f"{shlex.quote(str(exe))} run bert-tiny -b ort -b null -d 3 --save {shlex.quote(str(save))}; "
           f"echo EXIT=$?; sleep 60")
    sock = f"infbench-e2e-{os.getpid()}"
    _tmux(sock, "new-session", "-d", "-s", "e2e", "-x", "150", "-y", "45", cmd)
    try:
        _wait_for(sock, r"onnxruntime +(running|waiting its turn)", 120)
        _wait_for(sock, r"p50 \d+\.\d+ ms", 60)  # live numbers
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
