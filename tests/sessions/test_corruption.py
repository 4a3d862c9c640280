"""Damaged blocks in a real session file are reported as corrupt, never decoded to wrong numbers: every sample
block (both encodings) and monitor block carries a CRC-32 that the reader checks."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from infbench.errors import SessionError
from infbench.records import MonitorReading, SampleBlock
from infbench.sessions import schema
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder

T0 = 10**12


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session with a fast backend (patched FOR blocks), a slow one (zlib blocks) and monitor readings."""
    rng = np.random.default_rng(11)
    path = tmp_path_factory.mktemp("corrupt") / "s.infb"
    rec = Recorder(path)
    rec.on_start({"model": "x", "backends": []}, {}, T0, 0.0)
    for label, n, spacing in (("fast", 5000, 180), ("slow", 300, 1_001_000)):
        dur = rng.integers(60, 120, n) if label == "fast" else rng.integers(990_000, 1_000_000, n)
        dur[::997] += 2_000_000  # rare outliers, as real engines show
        start = T0 + np.arange(n, dtype=np.int64) * spacing + np.concatenate([[0], np.cumsum(dur[:-1])])
        rec.on_samples(SampleBlock(label, "measure", start, dur.astype(np.int64), np.arange(n) % 7))
    rec.on_monitor(
        [MonitorReading(T0 + k * 10**8, "cpu", {"cpu.util": k * 1.5, "cpu.model": "x"}) for k in range(50)]
    )
    rec.close("complete")
    return path


def _blobs(path: Path, table: str) -> list[tuple[int, bytes]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT id, blob FROM {table} ORDER BY id").fetchall()
    finally:
        con.close()


def _damaged(session: Path, tmp_path: Path, table: str, rowid: int, blob: bytes, pos: int) -> Path:
    """A copy of the session with one bit of one stored blob flipped."""
    bad = bytearray(blob)
    bad[pos] ^= 1 << (pos % 8)
    copy = tmp_path / f"{table}-{rowid}-{pos}.infb"
    shutil.copy(session, copy)
    con = sqlite3.connect(copy)
    con.execute(f"UPDATE {table} SET blob = ? WHERE id = ?", (bytes(bad), rowid))
    con.commit()
    con.close()
    return copy


def _positions(size: int) -> list[int]:
    """Every header byte, then bytes spread over the body, and the last byte."""
    return sorted({*range(min(size, 48)), *np.linspace(48, size - 1, 24).astype(int).tolist()} - {size})


def test_the_session_uses_both_sample_encodings(session: Path) -> None:
    with open_session(session) as r:
        assert r.metadata["schema_version"] == schema.SCHEMA_VERSION == 3
        assert r.samples("fast")[0].size == 5000 and r.samples("slow")[0].size == 300
    assert sorted(blob[:4] for _, blob in _blobs(session, "sample_blocks")) == [b"IBS1", b"IBS2"]


def test_every_flipped_bit_in_a_sample_block_is_reported(session: Path, tmp_path: Path) -> None:
    for rowid, blob in _blobs(session, "sample_blocks"):
        label = "fast" if blob[:4] == b"IBS2" else "slow"
        for pos in _positions(len(blob)):
            path = _damaged(session, tmp_path, "sample_blocks", rowid, blob, pos)
            with (
                open_session(path) as r,
                pytest.raises(SessionError, match="corrupt.*checksum mismatch") as info,
            ):
                r.samples(label)
            assert "\n" not in str(info.value) and label in str(info.value)
            path.unlink()


def test_every_flipped_bit_in_a_monitor_block_is_reported(session: Path, tmp_path: Path) -> None:
    blobs = _blobs(session, "monitor_blocks")
    assert len(blobs) == 2  # one numeric and one text metric
    with open_session(session) as r:
        names = r.metrics()
    for rowid, blob in blobs:
        for pos in _positions(len(blob)):
            path = _damaged(session, tmp_path, "monitor_blocks", rowid, blob, pos)
            with open_session(path) as r, pytest.raises(SessionError, match="corrupt.*checksum mismatch"):
                for name in names:
                    r.monitor_series(name)
            path.unlink()


@pytest.mark.parametrize("crc", [None, "x", 1.5])
def test_a_missing_checksum_is_reported(session: Path, tmp_path: Path, crc: object) -> None:
    copy = tmp_path / "nocrc.infb"
    shutil.copy(session, copy)
    con = sqlite3.connect(copy)
    con.execute("PRAGMA ignore_check_constraints=ON")
    # The column is NOT NULL: rewrite it the way a damaged file could
    con.execute("PRAGMA writable_schema=ON")
    con.execute(
        "UPDATE sqlite_master SET sql = replace(sql, 'crc INTEGER NOT NULL', 'crc') WHERE name = 'sample_blocks'"
    )
    con.commit()
    con.close()
    con = sqlite3.connect(copy)
    con.execute("UPDATE sample_blocks SET crc = ?", (crc,))
    con.commit()
    con.close()
    with open_session(copy) as r, pytest.raises(SessionError, match="corrupt.*no checksum"):
        r.samples("fast")


def test_a_schema2_file_without_the_checksum_column_is_incomplete(session: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old-layout.infb"
    shutil.copy(session, copy)
    con = sqlite3.connect(copy)
    con.execute("ALTER TABLE monitor_blocks DROP COLUMN crc")
    con.commit()
    con.close()
    with pytest.raises(SessionError, match="incomplete session file"):
        open_session(copy)
