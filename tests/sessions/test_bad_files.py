"""Untrusted session files: every bad case gives one clean line and a non-zero exit; fuzzed files only raise
SessionError."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infbench.analysis.summary import build_report
from infbench.errors import SessionError
from infbench.sessions import schema
from infbench.sessions.reader import open_session

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "sessions" / "small.infb"
GOOD = FIXTURE.read_bytes()


def _bad_files(d: Path) -> dict[str, Path]:
    files = {
        "missing": d / "missing.infb",
        "empty": d / "empty.infb",
        "random": d / "random.infb",
        "truncated": d / "truncated.infb",
        "header_only": d / "header.infb",
        "foreign": d / "foreign.db",
        "newer": d / "newer.infb",
        "corrupt_blob": d / "blob.infb",
        "dir": d / "adir.infb",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(bytes(range(256)) * 40)
    files["truncated"].write_bytes(GOOD[: len(GOOD) // 3])
    files["header_only"].write_bytes(GOOD[:100])
    files["dir"].mkdir()
    con = sqlite3.connect(files["foreign"])
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    for name in ("newer", "corrupt_blob"):
        shutil.copy(FIXTURE, files[name])
        con = sqlite3.connect(files[name])
        if name == "newer":
            con.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION + 1}")
        else:
            con.execute("UPDATE sample_blocks SET blob = substr(blob, 1, 60) WHERE id = 3")
        con.commit()
        con.close()
    return files


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _bad_files(tmp_path_factory.mktemp("bad"))


EXPECT = {
    "missing": "no such",
    "empty": "empty",
    "random": "not an infbench session",
    "truncated": "corrupt",
    "header_only": "corrupt|truncated",
    "foreign": "another kind",
    "newer": "newer infbench",
    "corrupt_blob": "corrupt",
    "dir": "not a file",
}


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_reader_raises_session_error(bad_files: dict[str, Path], case: str) -> None:
    with pytest.raises(SessionError, match=EXPECT[case]) as info, open_session(bad_files[case]) as r:
        build_report(r, n_boot=50)
    assert "\n" not in str(info.value)


def test_cli_report_on_every_bad_file(bad_files: dict[str, Path]) -> None:
    """One process runs `report` on every case (keeps the test short on a small machine)."""
    code = (
        "import sys, io, contextlib, json\n"
        "from infbench.cli import main\n"
        "for p in sys.argv[1:]:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        rc = main(['report', p])\n"
        "    print(rc, json.dumps(err.getvalue()))\n"
    )
    cases = sorted(EXPECT)
    out = subprocess.run(
        [sys.executable, "-c", code, *[str(bad_files[c]) for c in cases]],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stdout.splitlines()
    assert len(lines) == len(cases)
    for case, line in zip(cases, lines):
        rc, err = line.split(" ", 1)
        err = json.loads(err)
        assert rc != "0", case
        assert err.count("\n") == 1 and err.startswith("infbench-tui: error: "), (case, err)
        assert "internal error" not in err, (case, err)


def test_cli_exit_codes(bad_files: dict[str, Path]) -> None:
    from infbench.cli import main

    assert main(["report", str(bad_files["missing"])]) == 2
    assert main(["report", str(bad_files["foreign"])]) == 2  # bad input, like every other command


def _mutate(data: bytes, ops: list[tuple[int, int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for kind, pos, val in ops:
        pos %= len(b)
        if kind == 0:
            b[pos] ^= 1 << (val % 8)
        elif kind == 1:
            b[pos : pos + 16] = bytes([val % 256]) * 16
        else:
            b[pos] = val % 256
    if cut is not None:
        b = b[: max(0, cut % (len(b) + 1))]
    return bytes(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, len(GOOD) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    ),
    cut=st.one_of(st.none(), st.integers(0, len(GOOD))),
)
def test_fuzzed_files_only_raise_session_error(tmp_path: Path, ops: list, cut: int | None) -> None:
    path = tmp_path / "fuzz.infb"
    path.write_bytes(_mutate(GOOD, ops, cut))
    try:
        with open_session(path) as r:
            build_report(r, n_boot=20)
            for m in r.metrics():
                r.monitor_series(m)
            r.monitor_latest(r.end_ns())
            sum(len(b) for b in r.iter_blocks())
            for label in r.backend_infos():
                r.turns(label, None)  # inferred from the samples: schema 1
            r.backend_infos(at_ns=r.t0_ns + 10**9)  # the replay's view of one instant
    except SessionError as exc:
        assert "\n" not in str(exc)
