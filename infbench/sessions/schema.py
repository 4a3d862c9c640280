"""Session file format (SQLite, WAL while recording), versioned, and the compressed block codecs.

A session is an SQLite database whose ``PRAGMA application_id`` is ``APPLICATION_ID`` ("INFB") and whose
``PRAGMA user_version`` is the schema version. Tables:

- ``meta(key, value)``: JSON values — ``plan``, ``system``, ``t0_ns``, ``t0_wall``, ``outcome``,
  ``infbench_version``, ``created``, ``schema_version``.
- ``backends(id, t_ns, label, info)``: every BackendInfo update (JSON), so replay sees status changes in time.
- ``sample_blocks(id, label, phase, t_first_ns, t_last_ns, n, blob, crc)``: latency samples of one backend
  and phase, compressed by `encode_samples` (index on label, t_first_ns); ``crc`` is `checksum(blob)`.
- ``metrics(id, name)`` and ``monitor_blocks(id, metric_id, t_first_ns, t_last_ns, n, blob, crc)``: readings
  of one metric, compressed by `encode_series`, with the blob's `checksum`.
- ``events(id, t_ns, kind, backend, message, data)``.
- ``turns(id, label, phase, start_ns, end_ns, calls, busy_ns)``: every turn of every backend (`TurnRecord`),
  index on label, start_ns.
- ``call_extras(block_id, blob, crc)``: per-call parts and token stamps of the calls of sample block
  ``block_id`` (a ``sample_blocks.id``; only blocks of engines that report them), packed by
  `infbench.sessions.extras.encode`, with the blob's `checksum`.

Versions: 1 had neither ``turns`` nor the ``crc`` columns (the reader still reads it: turns are then inferred
from the samples by `infbench.sessions.turns.infer_turns`, blocks are not checksummed); 2 added both; 3 added
``call_extras`` (older files read with no parts and no tokens).

Sample blob: header (magic, n, first start, three frame-of-reference offsets and byte widths) then zlib of
three byte-shuffled streams: durations, gaps between one call's end and the next call's start, and input-index
deltas. Blocks of very fast engines (the null control at millions of calls/s) are stored with magic ``IBS2``:
not zlib-compressed (zlib would cost the app ~50 ns per sample, CPU the live UI needs) but *patched*
frame-of-reference: each stream uses the narrowest width that holds >= 99.5 % of its values, and the rare
outliers are stored after the packed bytes as (index, value) pairs — ~3 bytes/sample where plain packing would
need 9 because of a few millisecond outliers. ``IBS0`` (plain packing, uncompressed) is still read.
Everything is exact (ns precision); no pickle anywhere.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

import numpy as np

APPLICATION_ID = 0x494E4642  # "INFB"
SCHEMA_VERSION = 3
MIN_SCHEMA_VERSION = 1  # the oldest version the reader still reads
MAX_BLOCK_SAMPLES = 1 << 16
MAX_DECODED_BYTES = 64 << 20

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS backends (id INTEGER PRIMARY KEY, t_ns INTEGER NOT NULL, label TEXT NOT NULL,
    info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sample_blocks (id INTEGER PRIMARY KEY, label TEXT NOT NULL, phase TEXT NOT NULL,
    t_first_ns INTEGER NOT NULL, t_last_ns INTEGER NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL,
    crc INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sample_blocks_by_time ON sample_blocks (label, t_first_ns);
CREATE TABLE IF NOT EXISTS metrics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS monitor_blocks (id INTEGER PRIMARY KEY, metric_id INTEGER NOT NULL,
    t_first_ns INTEGER NOT NULL, t_last_ns INTEGER NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL,
    crc INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS monitor_blocks_by_time ON monitor_blocks (metric_id, t_first_ns);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, t_ns INTEGER NOT NULL, kind TEXT NOT NULL,
    backend TEXT, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t_ns);
CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, label TEXT NOT NULL, phase TEXT NOT NULL,
    start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, calls INTEGER NOT NULL, busy_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS turns_by_time ON turns (label, start_ns);
CREATE TABLE IF NOT EXISTS call_extras (block_id INTEGER PRIMARY KEY, blob BLOB NOT NULL, crc INTEGER NOT NULL);
"""
# Tables every readable version has, and what each later version added (tables, and columns of old tables).
TABLES_V1 = frozenset({"meta", "backends", "sample_blocks", "metrics", "monitor_blocks", "events"})
TABLES_V2 = TABLES_V1 | {"turns"}
TABLES_V3 = TABLES_V2 | {"call_extras"}
CRC_TABLES = ("sample_blocks", "monitor_blocks")  # tables with a ``crc`` column from version 2 on

_SAMPLE_HEAD = struct.Struct("<4sIqqqqBBB")
_SAMPLE_MAGIC = b"IBS1"
_SAMPLE_MAGIC_RAW = b"IBS0"
_SAMPLE_MAGIC_PATCHED = b"IBS2"
_PATCH_COUNTS = struct.Struct("<III")
_PATCH_SHARE = 0.995  # the packed width must hold at least this share of a stream's values
FAST_SPACING_NS = 5_000  # blocks whose calls start < 5 µs apart on average are stored uncompressed
_SERIES_HEAD = struct.Struct("<4sIB")
_SERIES_MAGIC = b"IBM1"
_WIDTHS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class CodecError(ValueError):
    """A blob that does not decode (corrupt or foreign)."""


def checksum(blob: bytes | bytearray | memoryview) -> int:
    """CRC-32 of a stored blob (unsigned, fits an SQLite INTEGER); the recorder stores it beside the blob."""
    return zlib.crc32(blob)


def verify(blob: bytes | bytearray | memoryview, crc: int | None, what: str = "block") -> None:
    """Raise CodecError when `blob` does not match its stored `crc` (None: unchecked, a schema-1 block)."""
    if crc is None:
        return
    if isinstance(crc, bool) or not isinstance(crc, int):
        raise CodecError(f"{what} has no valid checksum")
    if zlib.crc32(blob) != crc:
        raise CodecError(f"corrupted {what} (checksum mismatch)")


def _for_pack(v: np.ndarray) -> tuple[int, int, bytes]:
    """Frame-of-reference + narrowest width + byte shuffle: (offset, width, bytes)."""
    if v.size == 0:
        return 0, 1, b""
    lo = int(v.min())
    u = (v - np.int64(lo)).view(np.uint64)
    top = int(u.max())
    w = 1 if top < 1 << 8 else 2 if top < 1 << 16 else 4 if top < 1 << 32 else 8
    return lo, w, u.astype(_WIDTHS[w]).view(np.uint8).reshape(-1, w).T.tobytes()


def _pfor_pack(v: np.ndarray) -> tuple[int, int, bytes, bytes]:
    """Patched FOR: (offset, width, packed bytes, exceptions as uint32 indices + int64 values)."""
    if v.size == 0:
        return 0, 1, b"", b""
    lo = int(v.min())
    u = (v - np.int64(lo)).view(np.uint64)
    need = int(np.ceil(_PATCH_SHARE * u.size))
    w = 8
    for width in (1, 2, 4):
        if int(np.count_nonzero(u < (1 << (8 * width)))) >= need:
            w = width
            break
    if w == 8:
        return lo, 8, u.view(np.uint8).reshape(-1, 8).T.tobytes(), b""
    cap = np.uint64((1 << (8 * w)) - 1)
    idx = np.flatnonzero(u >= cap).astype(np.uint32)
    packed = np.minimum(u, cap).astype(_WIDTHS[w]).view(np.uint8).reshape(-1, w).T.tobytes()
    return lo, w, packed, idx.tobytes() + v[idx].astype(np.int64).tobytes()


def _pfor_patch(base: np.ndarray, raw: memoryview, count: int) -> np.ndarray:
    """Apply `count` exceptions (uint32 indices then int64 values) from `raw` to `base`."""
    if count == 0:
        return base
    idx = np.frombuffer(raw, np.uint32, count)
    if idx.size and int(idx.max()) >= base.size:
        raise CodecError("bad exception index")
    base[idx] = np.frombuffer(raw, np.int64, count, offset=4 * count)
    return base


def _for_unpack(raw: memoryview, n: int, lo: int, w: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, np.int64)
    b = np.frombuffer(raw, np.uint8, n * w).reshape(w, n).T.copy()
    u = b.view(_WIDTHS[w]).reshape(n).astype(np.uint64)
    return (u + np.uint64(lo & 0xFFFFFFFFFFFFFFFF)).view(np.int64)


def encode_samples(
    start_ns: np.ndarray, dur_ns: np.ndarray, input_idx: np.ndarray, level: int | None = None
) -> bytes:
    """Pack one backend's calls (lossless); zlib at `level` (0 = none; None = 6, or none for fast engines)."""
    s = np.ascontiguousarray(start_ns, np.int64)
    d = np.ascontiguousarray(dur_ns, np.int64)
    i = np.ascontiguousarray(input_idx, np.int64)
    n = s.size
    if d.size != n or i.size != n or n == 0:
        raise ValueError("start, dur and input_idx must have the same non-zero length")
    gap = s[1:] - s[:-1] - d[:-1]
    didx = np.diff(i, prepend=np.int64(0))
    (dlo, dw, db), (glo, gw, gb), (ilo, iw, ib) = _for_pack(d), _for_pack(gap), _for_pack(didx)
    if level is None:
        level = 0 if n >= 1000 and int(s[-1]) - int(s[0]) < n * FAST_SPACING_NS else 6
    if level == 0:
        return _encode_patched(s, d, gap, didx)
    head = _SAMPLE_HEAD.pack(_SAMPLE_MAGIC, n, int(s[0]), dlo, glo, ilo, dw, gw, iw)
    return head + zlib.compress(db + gb + ib, level)


def _regular_cycle(i: np.ndarray) -> int | None:
    """The cycle length m when input indices are exactly (i[0] + k) mod m (the worker's order), else None."""
    m = int(i.max()) + 1
    if int(i.min()) < 0 or m >= 1 << 31:
        return None
    return m if np.array_equal(i, (int(i[0]) + np.arange(i.size, dtype=np.int64)) % m) else None


def _encode_patched(s: np.ndarray, d: np.ndarray, gap: np.ndarray, didx: np.ndarray) -> bytes:
    (dlo, dw, db, dx), (glo, gw, gb, gx) = _pfor_pack(d), _pfor_pack(gap)
    i = np.cumsum(didx)
    cycle = _regular_cycle(i)
    if cycle is not None:  # width 0: no per-call bytes, the offset field holds (first index << 32) | cycle
        ilo, iw, ib, ix = (int(i[0]) << 32) | cycle, 0, b"", b""
    else:
        ilo, iw, ib, ix = _pfor_pack(didx)
    head = _SAMPLE_HEAD.pack(_SAMPLE_MAGIC_PATCHED, s.size, int(s[0]), dlo, glo, ilo, dw, gw, iw)
    counts = _PATCH_COUNTS.pack(len(dx) // 12, len(gx) // 12, len(ix) // 12)
    return head + counts + db + gb + ib + dx + gx + ix


def _inflate(data: bytes | memoryview, expected: int) -> bytes:
    if expected > MAX_DECODED_BYTES:
        raise CodecError("block too large")
    try:
        z = zlib.decompressobj()
        raw = z.decompress(data, expected + 1)
    except zlib.error as exc:
        raise CodecError(f"bad compressed data: {exc}") from None
    if len(raw) != expected or not z.eof:
        raise CodecError("block has the wrong length")
    return raw


def decode_samples(blob: bytes, crc: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of `encode_samples`: (start_ns int64, dur_ns int64, input_idx int32). Raises CodecError.

    With `crc` (the stored `checksum`) any change to the blob is caught before decoding; without it, a
    damaged block is caught only when its structure breaks (an uncompressed block may then decode to wrong
    numbers).
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) < _SAMPLE_HEAD.size:
        raise CodecError("sample block too short")
    verify(blob, crc, "sample block")
    magic, n, s0, dlo, glo, ilo, dw, gw, iw = _SAMPLE_HEAD.unpack_from(blob)
    regular = magic == _SAMPLE_MAGIC_PATCHED and iw == 0
    if (
        magic not in (_SAMPLE_MAGIC, _SAMPLE_MAGIC_RAW, _SAMPLE_MAGIC_PATCHED)
        or n == 0
        or n > MAX_BLOCK_SAMPLES * 4
        or not {dw, gw} <= _WIDTHS.keys()
        or not (regular or iw in _WIDTHS)
    ):
        raise CodecError("bad sample block header")
    expected = n * dw + (n - 1) * gw + n * iw
    body = memoryview(blob)[_SAMPLE_HEAD.size :]
    patches = (0, 0, 0)
    if magic == _SAMPLE_MAGIC_PATCHED:
        if len(body) < _PATCH_COUNTS.size:
            raise CodecError("sample block too short")
        patches = _PATCH_COUNTS.unpack_from(body)
        body = body[_PATCH_COUNTS.size :]
        if any(c > n for c in patches) or len(body) != expected + 12 * sum(patches):
            raise CodecError("block has the wrong length")
        raw = body
    elif magic == _SAMPLE_MAGIC_RAW:
        if len(body) != expected:
            raise CodecError("block has the wrong length")
        raw = body
    else:
        raw = memoryview(_inflate(body, expected))
    d = _for_unpack(raw, n, dlo, dw)
    gap = _for_unpack(raw[n * dw :], n - 1, glo, gw)
    if regular:
        first, cycle = ilo >> 32, ilo & 0xFFFFFFFF
        if cycle == 0 or not 0 <= first < cycle:
            raise CodecError("bad input-index cycle")
        didx = np.diff((first + np.arange(n, dtype=np.int64)) % cycle, prepend=np.int64(0))
    else:
        didx = _for_unpack(raw[n * dw + (n - 1) * gw :], n, ilo, iw)
    if magic == _SAMPLE_MAGIC_PATCHED:
        off = expected
        for arr, count in zip((d, gap, didx), patches):
            _pfor_patch(arr, raw[off : off + 12 * count], count)
            off += 12 * count
    with np.errstate(over="ignore"):
        steps = d[:-1] + gap
        start = np.empty(n, np.int64)
        start[0] = s0
        np.cumsum(steps, out=start[1:])
        start[1:] += np.int64(s0)
    return start, d, np.cumsum(didx).astype(np.int32)


def encode_series(t_ns: list[int], values: list[Any], level: int = 6) -> bytes:
    """Compress one metric's readings: numbers as float64 (None → NaN); any string makes it a JSON block."""
    t = np.asarray(t_ns, np.int64)
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
        v = np.array([math.nan if x is None else float(x) for x in values], np.float64)
        body = np.diff(t, prepend=np.int64(0)).tobytes() + v.tobytes()
        return _SERIES_HEAD.pack(_SERIES_MAGIC, t.size, 0) + zlib.compress(body, level)
    body = json.dumps(
        [t.tolist(), [None if isinstance(x, float) and not math.isfinite(x) else x for x in values]]
    ).encode()
    return _SERIES_HEAD.pack(_SERIES_MAGIC, t.size, 1) + zlib.compress(body, level)


def decode_series(blob: bytes, crc: int | None = None) -> tuple[np.ndarray, list[Any] | np.ndarray]:
    """Inverse of `encode_series`: (t_ns int64, float64 array or list of values). Raises CodecError.

    `crc`: the stored `checksum`, verified first when given.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) < _SERIES_HEAD.size:
        raise CodecError("monitor block too short")
    verify(blob, crc, "monitor block")
    magic, n, kind = _SERIES_HEAD.unpack_from(blob)
    if magic != _SERIES_MAGIC or kind not in (0, 1) or n > MAX_BLOCK_SAMPLES * 4:
        raise CodecError("bad monitor block header")
    body = memoryview(blob)[_SERIES_HEAD.size :]
    if kind == 0:
        raw = _inflate(body, 16 * n)
        t = np.cumsum(np.frombuffer(raw, np.int64, n))
        return t, np.frombuffer(raw, np.float64, n, offset=8 * n).copy()
    try:
        z = zlib.decompressobj()
        text = z.decompress(body, MAX_DECODED_BYTES)
        ts, vs = loads(text.decode())
        if len(ts) != n or len(vs) != n or not all(isinstance(x, int) for x in ts):
            raise ValueError
        if not all(x is None or isinstance(x, (str, int, float)) for x in vs):
            raise ValueError
    except (zlib.error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise CodecError("bad monitor block") from None
    return np.asarray(ts, np.int64), vs


def dumps(obj: Any) -> str:
    """JSON text for the meta/backends/events columns (numpy values and non-finite floats handled)."""
    return json.dumps(obj, default=_default, allow_nan=True)


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return str(obj)


def loads(text: Any) -> Any:
    """Parse JSON from an untrusted file. Raises ValueError on anything odd (incl. too-deep nesting)."""
    if not isinstance(text, str):
        raise TypeError("not text")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
