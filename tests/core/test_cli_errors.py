"""One rule for bad input in every subcommand: one line on stderr, no traceback, exit code 2, nothing started.

Session inputs (report, replay, compare, export): missing, a directory, a model file, a file that is not a
session, a session whose data is corrupt. Outputs (report -o, export -o): a missing directory, a directory.
Sweep's inputs: the model, and its --save/--json paths.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from infbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "sessions" / "small.infb"


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    files = {
        "missing": d / "missing.infb",
        "directory": d / "hf-model",
        "onnx": d / "model.onnx",
        "junk": d / "junk.infb",
        "corrupt": d / "corrupt.infb",
    }
    files["directory"].mkdir()
    (files["directory"] / "config.json").write_text("{}")
    files["onnx"].write_bytes(b"\x08\x07\x12\x04onnx")
    files["junk"].write_text("not a session\n" * 20)
    shutil.copy(FIXTURE, files["corrupt"])
    con = sqlite3.connect(files["corrupt"])
    # Opens fine; reading the samples fails
    con.execute("UPDATE sample_blocks SET blob = substr(blob, 1, 60)")
    con.commit()
    con.close()
    return files


EXPECT = {
    "missing": "no such session file",
    "directory": "not a file but a directory",
    "onnx": "a model file, not a session",
    "junk": "not an infbench session",
    "corrupt": "corrupt",
}


def _argv(command: str, path: str) -> list[str]:
    return {
        "report": ["report", path, "--bootstrap", "50"],
        "replay": ["replay", path],
        "compare": ["compare", str(FIXTURE), path, "--bootstrap", "50"],
        "export": ["export", path, "-o", os.devnull],
    }[command]


@pytest.mark.parametrize("command", ["report", "replay", "compare", "export"])
@pytest.mark.parametrize("case", sorted(EXPECT))
def test_bad_session_input_is_exit_two(
    command: str, case: str, bad: dict[str, Path], capsys, monkeypatch
) -> None:
    if command == "replay" and case == "corrupt":
        pytest.skip("a session that opens is replayed in the TUI; its corrupt blocks are found while playing")
    started = []
    monkeypatch.setattr("infbench.tui.launch.run_replay", lambda *a, **k: started.append(a) or 0)
    assert main(_argv(command, str(bad[case]))) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("infbench-tui: error: "), captured.err
    assert EXPECT[case] in captured.err and "internal error" not in captured.err
    assert not started  # the TUI never opened
    if case in ("directory", "onnx"):
        assert f"`{command}` takes a session file (.infb)" in captured.err


@pytest.mark.parametrize("command", ["report", "export"])
@pytest.mark.parametrize("target", ["missing-dir", "directory"])
def test_unwritable_output_is_exit_two(command: str, target: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "nope" / "x.md" if target == "missing-dir" else tmp_path
    assert main([command, str(FIXTURE), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "-o " in captured.err
    assert ("does not exist" if target == "missing-dir" else "is a directory") in captured.err


@pytest.mark.parametrize("fmt", ["table", "md", "json", "csv"])
def test_report_to_a_missing_directory_in_every_format(fmt: str, tmp_path: Path, capsys) -> None:
    assert main(["report", str(FIXTURE), "--format", fmt, "-o", "/nonexistent/x.md"]) == 2
    assert (
        capsys.readouterr().err
        == "infbench-tui: error: -o /nonexistent/x.md: directory /nonexistent does not "
        "exist\n"
    )


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="120", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "infbench", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("model", "needle"),
    [("nope.onnx", "does not exist"), ("hf-dir", "without config.json"), ("FIXTURE", "is not an .onnx file")],
)
def test_sweep_bad_model_is_exit_two_before_anything_starts(model: str, needle: str, tmp_path: Path) -> None:
    (tmp_path / "hf-dir").mkdir()
    model = str(FIXTURE) if model == "FIXTURE" else model
    proc = _cli(
        "sweep", model, "-b", "ort", "--threads", "1,2", "--headless", "--save", "s.infb", cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == "" and not (tmp_path / "s.infb").exists()  # no "expected: …", no session


def test_sweep_existing_save_and_missing_json_dir_are_exit_two(tmp_path: Path) -> None:
    (tmp_path / "old.infb").write_bytes(FIXTURE.read_bytes())
    for extra, needle in (
        (["--save", "old.infb"], "already exists"),
        (["--json", "no/x.json"], "does not exist"),
    ):
        proc = _cli("sweep", "bert-tiny", "-b", "ort", "--threads", "1", "--headless", *extra, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr


def test_run_of_a_missing_model_file_is_one_line_before_anything_is_printed(tmp_path, capsys) -> None:
    from infbench.cli import main

    assert main(["run", str(tmp_path / "missing.onnx"), "-b", "ort", "--headless", "-d", "1"]) == 2
    out, err = capsys.readouterr()
    assert (
        out == "" and len(err.strip().splitlines()) == 1 and "missing.onnx" in err and "expected" not in err
    )
