"""A new engine is one module plus registration: the toy engine runs headless through the real CLI, and its
bad options are refused in one line, exit 2, before any child process or session file exists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infbench.sessions.reader import open_session
from tests.engines.toy_engine import MARKER_ENV

PLUGIN = "toy=tests.engines.toy_engine:ToyEngine"


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    plugins = ",".join(filter(None, [os.environ.get("INFBENCH_ENGINE_PLUGINS", ""), PLUGIN]))
    env = dict(
        os.environ,
        INFBENCH_ENGINE_PLUGINS=plugins,
        **{MARKER_ENV: str(tmp_path / "children")},
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "infbench", "run", "bert-tiny", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_toy_engine_runs_headless_with_its_options(tmp_path: Path) -> None:
    save = tmp_path / "toy.infb"
    proc = _cli(
        tmp_path,
        "-b",
        "toy:delay_us=200,mode=b",
        "-d",
        "1",
        "-n",
        "20",
        "--no-monitors",
        "--headless",
        "--save",
        str(save),
    )
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "children").read_text().split()) == 1  # one child, for the one variant
    with open_session(save) as r:
        spec = r.plan["backends"][0]
        assert spec["backend"] == "toy" and spec["options"] == {"delay_us": 200, "mode": "b"}
        info = r.backend_infos()["toy"]
        assert info.status == "done" and info.options == {"delay_us": 200, "mode": "b"}
        start, dur = r.samples("toy", phase="measure")
        assert start.size >= 20 and float(dur.min()) >= 200_000  # each call busy-waited its 200 µs


@pytest.mark.parametrize(
    "spec, message",
    [
        ("toy:mode=c", "--backend toy:mode=c: mode must be one of a, b"),
        (
            "toy:delay=3",
            "--backend toy:delay=3: unknown option 'delay' for toy: valid are delay_us, mode (did you mean delay_us?)",
        ),
        ("toy:delay_us=-1", "--backend toy:delay_us=-1: delay_us must be an integer ≥ 0, got -1"),
    ],
)
def test_a_bad_toy_option_is_refused_before_any_child(tmp_path: Path, spec: str, message: str) -> None:
    save = tmp_path / "never.infb"
    proc = _cli(
        tmp_path, "-b", spec, "-d", "1", "-n", "20", "--no-monitors", "--headless", "--save", str(save)
    )
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1, proc.stderr
    assert err[0] == f"infbench-tui: error: {message}"
    assert not (tmp_path / "children").exists(), "a worker child was started for a refused option"
    assert not save.exists()
