"""Property tests straight on the block codecs (schema.py): exact round trips on both sample encodings (zlib
``IBS1`` and patched frame-of-reference ``IBS2``) and on series blocks, and damaged blobs that are caught —
always with their checksum, and never by another exception than CodecError without it. 10 000 generated
examples in all."""

from __future__ import annotations

import contextlib
import math
import zlib
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from infbench.sessions import schema

I64 = st.integers(-(2**63), 2**63 - 1)
I32 = st.integers(-(2**31), 2**31 - 1)
LEVELS = (0, 6, None)  # 0: patched FOR (IBS2); 6: zlib (IBS1); None: chosen from the calls' spacing


def cases(n: int) -> settings:
    """`n` generated examples, no per-example deadline (the machine is shared)."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


MAGIC = {0: b"IBS2", 6: b"IBS1"}


def _round_trip(start: np.ndarray, dur: np.ndarray, idx: np.ndarray, levels: tuple = LEVELS) -> None:
    """Encode with each encoding, decode with and without the checksum: the very same arrays come back."""
    for level in levels:
        blob = schema.encode_samples(start, dur, idx, level)
        assert blob[:4] == MAGIC.get(level, blob[:4])
        for crc in (None, schema.checksum(blob)):
            s, d, i = schema.decode_samples(blob, crc)
            assert s.dtype == d.dtype == np.int64 and i.dtype == np.int32
            assert np.array_equal(s, start) and np.array_equal(d, dur) and np.array_equal(i, idx)


EXTREMES = np.array([-(2**63), -(2**63) + 1, -1, 0, 1, 2**62, 2**63 - 2, 2**63 - 1], np.int64)


@cases(2500)
@given(
    rows=st.lists(st.tuples(I64, I64, I32), min_size=0, max_size=3),
    seed=st.integers(0, 2**32 - 1),
    extra=st.sampled_from([0, 0, 1, 5, 300]),
)
def test_any_int64_calls_round_trip(rows: list[tuple[int, int, int]], seed: int, extra: int) -> None:
    """Unsorted, negative and extreme starts and durations: the codec is exact modulo 2**64, so anything goes.

    Hypothesis picks a few calls; `extra` more come from a seeded generator, half of them int64 extremes.
    """
    assume(rows or extra)
    rng = np.random.default_rng(seed)

    def tail(lo: int, hi: int) -> np.ndarray:
        v = rng.integers(lo, hi, extra, dtype=np.int64, endpoint=True)
        return np.where(rng.random(extra) < 0.5, rng.choice(EXTREMES, extra), v) if hi > 2**40 else v

    start = np.concatenate([np.array([r[0] for r in rows], np.int64), tail(-(2**63), 2**63 - 1)])
    dur = np.concatenate([np.array([r[1] for r in rows], np.int64), tail(-(2**63), 2**63 - 1)])
    idx = np.concatenate(
        [np.array([r[2] for r in rows], np.int32), tail(-(2**31), 2**31 - 1).astype(np.int32)]
    )
    _round_trip(start, dur, idx, (0, 6))  # under 1000 calls, None means 6


@st.composite
def worker_blocks(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocks shaped like the worker's: back-to-back calls, rare outliers, huge gaps, cyclic or odd indices.

    Hypothesis draws the size, the index pattern and a seed; the seed picks the rest (few draws keep ~10 000
    examples fast).
    """
    n = draw(st.sampled_from([1, 2, 3, 255, 256, 257, 999, 1000, 1001]) | st.integers(1, 1200))
    mode = draw(st.sampled_from(["cyclic", "random", "constant", "extreme"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dur = (rng.choice([70, 300, 5_000, 1_000_000, 300_000_000]) * rng.lognormal(0, 0.2, n)).astype(np.int64)
    gap = rng.integers(50, 2_000, n)
    rate = rng.choice([0.0, 1e-3, 0.01, 0.2])
    out = rng.random(n) < rate
    dur[out] += rng.integers(1, rng.choice([10**4, 10**7, 10**12]), int(out.sum()))
    huge = rng.random(n) < rate
    gap[huge] = rng.integers(0, rng.choice([10**9, 10**15, 2**62]), int(huge.sum()))
    t0 = int(rng.choice([0, 10**12, -(10**15), 2**62]))
    start = t0 + np.concatenate([[0], np.cumsum(dur[:-1] + gap[:-1])]).astype(np.int64)
    cycle = int(rng.choice([1, 2, 64, 65_536, 2**31 - 1]))
    if mode == "cyclic":
        idx = (int(rng.integers(0, cycle)) + np.arange(n)) % cycle
    elif mode == "random":
        idx = rng.integers(0, cycle, n)
    elif mode == "constant":
        idx = np.full(n, cycle - 1)
    else:
        idx = rng.choice(np.array([-(2**31), -1, 0, 2**31 - 1]), n)
    return start, dur, idx.astype(np.int32)


@cases(2000)
@given(block=worker_blocks())
def test_worker_like_blocks_round_trip(block: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    _round_trip(*block)


def test_empty_and_mismatched_blocks_are_refused() -> None:
    with pytest.raises(ValueError, match="non-zero length"):
        schema.encode_samples(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32))
    with pytest.raises(ValueError, match="same"):
        schema.encode_samples(np.zeros(2, np.int64), np.zeros(1, np.int64), np.zeros(2, np.int32))


NUMBER = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**53), 2**53)
VALUE = NUMBER | st.text(max_size=8)


@cases(2500)
@given(pairs=st.lists(st.tuples(I64, VALUE), max_size=6))
def test_series_round_trip(pairs: list[tuple[int, Any]]) -> None:
    """Numbers come back as float64 (None as NaN); a block with any text keeps values, non-finite ones as None."""
    t = [p[0] for p in pairs]
    values = [p[1] for p in pairs]
    blob = schema.encode_series(t, values)
    for crc in (None, schema.checksum(blob)):
        got_t, got_v = schema.decode_series(blob, crc)
        assert got_t.dtype == np.int64 and got_t.tolist() == t
        if any(isinstance(v, str) for v in values):
            want = [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]
            assert got_v == want
        else:
            want_f = np.array([math.nan if v is None else float(v) for v in values], np.float64)
            assert isinstance(got_v, np.ndarray) and got_v.dtype == np.float64
            np.testing.assert_array_equal(got_v, want_f)


MUTATION = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2**31), st.integers(1, 255)), min_size=1, max_size=3
)


def _mutate(blob: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Flip a bit, overwrite a byte, truncate, or append — the damage a disk or a bad copy does."""
    b = bytearray(blob)
    for kind, pos, val in ops:
        if kind == 0 and b:
            b[pos % len(b)] ^= 1 << (val % 8)
        elif kind == 1 and b:
            b[pos % len(b)] = val
        elif kind == 2:
            del b[pos % (len(b) + 1) :]
        else:
            b += bytes([val]) * (1 + pos % 16)
    return bytes(b)


@cases(1500)
@given(block=worker_blocks(), level=st.sampled_from([0, 6]), ops=MUTATION)
def test_damaged_sample_blocks_are_caught(
    block: tuple[np.ndarray, np.ndarray, np.ndarray], level: int, ops: list[tuple[int, int, int]]
) -> None:
    blob = schema.encode_samples(*block, level)
    bad = _mutate(blob, ops)
    assume(bad != blob)
    with pytest.raises(schema.CodecError):
        schema.decode_samples(bad, schema.checksum(blob))
    try:  # without the checksum (schema-1 files): a CodecError, or arrays of the declared shape, nothing else
        s, d, i = schema.decode_samples(bad)
    except schema.CodecError:
        return
    assert s.dtype == d.dtype == np.int64 and i.dtype == np.int32 and s.size == d.size == i.size > 0


@cases(1500)
@given(pairs=st.lists(st.tuples(I64, VALUE), min_size=1, max_size=6), ops=MUTATION)
def test_damaged_series_blocks_are_caught(
    pairs: list[tuple[int, Any]], ops: list[tuple[int, int, int]]
) -> None:
    blob = schema.encode_series([p[0] for p in pairs], [p[1] for p in pairs])
    bad = _mutate(blob, ops)
    assume(bad != blob)
    with pytest.raises(schema.CodecError):
        schema.decode_series(bad, schema.checksum(blob))
    with contextlib.suppress(schema.CodecError):
        schema.decode_series(bad)


def test_checksum_values() -> None:
    """The stored checksum is zlib's CRC-32 (unsigned); a missing or wrong-typed one is refused."""
    blob = schema.encode_samples(
        np.arange(3, dtype=np.int64), np.ones(3, np.int64), np.arange(3, dtype=np.int32)
    )
    assert schema.checksum(blob) == zlib.crc32(blob) and 0 <= schema.checksum(blob) < 2**32
    for crc in (schema.checksum(blob) ^ 1, -1, 2**32 + schema.checksum(blob)):
        with pytest.raises(schema.CodecError, match="checksum mismatch"):
            schema.decode_samples(blob, crc)
    for crc in ("1", 1.0, True):
        with pytest.raises(schema.CodecError, match="no valid checksum"):
            schema.decode_samples(blob, crc)  # type: ignore[arg-type]
