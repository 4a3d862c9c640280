"""Call parts and token stamps in the session file: exact round trip, across commits and row splits, older
schema files still read (without them), damaged extras reported, and `export samples` columns."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infbench.errors import SessionError
from infbench.records import SampleBlock
from infbench.sessions import extras, schema
from infbench.sessions.export import write_samples
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore

T0 = 10**12


def _blocks(n_blocks: int, per: int, seed: int = 3) -> list[SampleBlock]:
    """Consecutive blocks of a generating engine with two parts; call k makes 1 + k % 4 steps."""
    rng = np.random.default_rng(seed)
    out, t, k = [], T0, 0
    for b in range(n_blocks):
        dur = rng.integers(1_000_000, 3_000_000, per).astype(np.int64)
        start = t + np.concatenate([[0], np.cumsum(dur[:-1] + 1000)]).astype(np.int64)
        t = int(start[-1] + dur[-1] + 1000)
        counts = (1 + (np.arange(k, k + per) % 4)).astype(np.int32)
        stamps = np.concatenate(
            [s + np.linspace(d // 4, d, c).astype(np.int64) for s, d, c in zip(start, dur, counts)]
        )
        tok = dur // 5
        out.append(
            SampleBlock(
                "gen",
                "warmup" if b == 0 else "measure",
                start,
                dur,
                (np.arange(k, k + per) % 7).astype(np.int32),
                {"tokenize": tok, "infer": dur - 2 * tok},
                stamps,
                counts,
            )
        )
        k += per
    return out


def _record(path: Path, blocks: list[SampleBlock], flush_each: bool = True) -> LiveStore:
    store, rec = LiveStore(), Recorder(path)
    plan = {"backends": [{"label": "gen", "backend": "x"}, {"label": "plain", "backend": "y"}]}
    for x in (store, rec):
        x.on_start(plan, {}, T0, 0.0)
    for b in blocks:
        store.on_samples(b)
        rec.on_samples(b)
        plain = SampleBlock("plain", b.phase, b.start_ns + 1, b.dur_ns // 2, b.input_idx)
        store.on_samples(plain)
        rec.on_samples(plain)
        if flush_each:
            rec.flush()  # each block its own commit: the open row is re-encoded with its extras
    rec.close("complete")
    return store


def _same(store: LiveStore, path: Path) -> None:
    with open_session(path) as r:
        for phase in ("measure", "warmup", None):
            live, back = store.parts("gen", phase), r.parts("gen", phase)
            assert list(back) == list(live) == ["tokenize", "infer"]
            assert live["infer"].size == store.samples("gen", phase=phase)[0].size
            for k in live:
                np.testing.assert_array_equal(back[k], live[k])
            for a, b in zip(store.tokens("gen", phase), r.tokens("gen", phase)):
                np.testing.assert_array_equal(a, b)
            assert r.parts("plain", phase) == {} == store.parts("plain", phase)
            assert all(a.size == 0 for a in r.tokens("plain", phase))


def test_extras_round_trip_live_and_file(tmp_path: Path) -> None:
    blocks = _blocks(6, 40)
    store = _record(tmp_path / "a.infb", blocks)
    _same(store, tmp_path / "a.infb")
    start, counts, stamps = store.tokens("gen")
    np.testing.assert_array_equal(counts, np.concatenate([b.token_counts for b in blocks[1:]]))
    np.testing.assert_array_equal(stamps, np.concatenate([b.tokens for b in blocks[1:]]))
    np.testing.assert_array_equal(start, store.samples("gen", phase="measure")[0])


def test_extras_survive_a_row_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "MAX_BLOCK_SAMPLES", 64)  # rows of 64 calls: blocks straddle rows
    store = _record(tmp_path / "b.infb", _blocks(5, 50), flush_each=False)
    with sqlite3.connect(tmp_path / "b.infb") as con:
        assert con.execute("SELECT COUNT(*) FROM call_extras").fetchone()[0] >= 4
    _same(store, tmp_path / "b.infb")


def test_a_schema2_file_reads_without_parts(tmp_path: Path) -> None:
    path = tmp_path / "old.infb"
    _record(path, _blocks(3, 20))
    with sqlite3.connect(path) as con:  # what a schema-2 infbench wrote: no call_extras table
        con.execute("DROP TABLE call_extras")
        con.execute("PRAGMA user_version=2")
    with open_session(path) as r:
        assert r.metadata["schema_version"] == 2
        assert r.samples("gen", phase="measure")[0].size == 40
        assert r.parts("gen") == {} and all(a.size == 0 for a in r.tokens("gen"))
        assert r.part_columns() == ([], False)


def test_a_schema3_file_without_the_table_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "cut.infb"
    _record(path, _blocks(2, 10))
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE call_extras")
    with pytest.raises(SessionError, match="incomplete session file"):
        open_session(path)


def test_every_flipped_bit_in_call_extras_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.infb"
    _record(path, _blocks(2, 30))
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT block_id, blob FROM call_extras").fetchall()
    assert rows
    bid, blob = rows[0]
    for pos in sorted({*range(min(len(blob), 40)), len(blob) - 1}):
        bad = bytearray(blob)
        bad[pos] ^= 1 << (pos % 8)
        copy = tmp_path / f"bad{pos}.infb"
        shutil.copy(path, copy)
        with sqlite3.connect(copy) as con:
            con.execute("UPDATE call_extras SET blob = ? WHERE block_id = ?", (bytes(bad), bid))
        with open_session(copy) as r, pytest.raises(SessionError, match="corrupt.*checksum mismatch") as info:
            r.parts("gen", None)
        assert "\n" not in str(info.value)
        copy.unlink()


def test_export_samples_has_part_and_token_columns(tmp_path: Path) -> None:
    path = tmp_path / "e.infb"
    blocks = _blocks(2, 15)
    _record(path, blocks)
    out = io.StringIO()
    with open_session(path) as r:
        n = write_samples(r, out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) == 60
    assert list(rows[0])[-3:] == ["tokenize_ns", "infer_ns", "token_count"]
    gen = [x for x in rows if x["backend"] == "gen"]
    plain = [x for x in rows if x["backend"] == "plain"]
    assert [int(x["tokenize_ns"]) for x in gen] == np.concatenate(
        [b.parts["tokenize"] for b in blocks]
    ).tolist()
    assert [int(x["token_count"]) for x in gen] == np.concatenate([b.token_counts for b in blocks]).tolist()
    assert all(x["infer_ns"] == "" and x["token_count"] == "" for x in plain)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 40),
    k=st.integers(0, 4),
    tokens=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_codec_is_exact(n: int, k: int, tokens: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = {f"p{i}": rng.integers(-(2**62), 2**62, n) for i in range(k)}
    counts = rng.integers(0, 5, n) if tokens else None
    stamps = np.sort(rng.integers(0, 2**62, int(counts.sum()))) if counts is not None else None
    ex = extras.of_block(n, parts, stamps, counts)
    back = extras.decode(extras.encode(ex), n)
    assert list(back.parts) == list(parts)
    for name in parts:
        np.testing.assert_array_equal(back.parts[name], parts[name])
    if tokens:
        assert back.token_counts is not None and back.tokens is not None
        np.testing.assert_array_equal(back.token_counts, counts)
        np.testing.assert_array_equal(back.tokens, stamps)
    else:
        assert back.token_counts is None
    with pytest.raises(extras.ExtrasError):
        extras.decode(extras.encode(ex), n + 1)  # the blob must match its sample row


def test_reorder_moves_stamps_with_their_call() -> None:
    ex = extras.of_block(
        3, {"a": np.array([1, 2, 3])}, np.array([10, 20, 21, 30, 31, 32]), np.array([1, 2, 3])
    )
    back = extras.reorder(ex, np.array([2, 0, 1]))
    assert back.parts["a"].tolist() == [3, 1, 2]
    assert back.token_counts is not None and back.tokens is not None
    assert back.token_counts.tolist() == [3, 1, 2] and back.tokens.tolist() == [30, 31, 32, 10, 20, 21]
