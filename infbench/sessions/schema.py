"""Session file format (SQLite, WAL while recording), versioned, and the compressed block codecs.

A session is an SQLite database whose ``PRAGMA application_id`` is ``APPLICATION_ID`` ("INFB") and whose
``PRAGMA user_version`` is the schema version. Tables:

- ``meta(key, value)``: JSON values — ``plan``, ``system``, ``t0_ns``, ``t0_wall``, ``outcome``,
  ``infbench_version``, ``created``, ``schema_version``.
- ``backends(id, t_ns, label, info)``: every BackendInfo update (JSON), so replay sees status changes in time.
- ``sample_blocks(id, label, phase, t_first_ns, t_last_ns, n, blob)``: latency samples of one backend and
  phase, compressed by `encode_samples` (index on label, t_first_ns).
- ``metrics(id, name)`` and ``monitor_blocks(id, metric_id, t_first_ns, t_last_ns, n, blob)``: readings of
  one metric, compressed by `encode_series`.
- ``events(id, t_ns, kind, backend, message, data)``.

Sample blob: header (magic, n, first start, three frame-of-reference offsets and byte widths) then zlib of
three byte-shuffled streams: durations, gaps between one call's end and the next call's start, and input-index
deltas. Blocks of very fast engines (the null control at millions of calls/s) are stored with magic ``IBS0``:
the same streams, not zlib-compressed — already ~3 bytes/sample, and zlib would cost the app ~50 ns per sample,
CPU the live UI needs. Everything is exact (ns precision); no pickle anywhere.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

import numpy as np

APPLICATION_ID = 0x494E4642  # "INFB"
SCHEMA_VERSION = 1
MAX_BLOCK_SAMPLES = 1 << 16
MAX_DECODED_BYTES = 64 << 20

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS backends (id INTEGER PRIMARY KEY, t_ns INTEGER NOT NULL, label TEXT NOT NULL,
    info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sample_blocks (id INTEGER PRIMARY KEY, label TEXT NOT NULL, phase TEXT NOT NULL,
    t_first_ns INTEGER NOT NULL, t_last_ns INTEGER NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sample_blocks_by_time ON sample_blocks (label, t_first_ns);
CREATE TABLE IF NOT EXISTS metrics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS monitor_blocks (id INTEGER PRIMARY KEY, metric_id INTEGER NOT NULL,
    t_first_ns INTEGER NOT NULL, t_last_ns INTEGER NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS monitor_blocks_by_time ON monitor_blocks (metric_id, t_first_ns);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, t_ns INTEGER NOT NULL, kind TEXT NOT NULL,
    backend TEXT, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t_ns);
"""

_SAMPLE_HEAD = struct.Struct("<4sIqqqqBBB")
_SAMPLE_MAGIC = b"IBS1"
_SAMPLE_MAGIC_RAW = b"IBS0"
FAST_SPACING_NS = 5_000  # blocks whose calls start < 5 µs apart on average are stored uncompressed
_SERIES_HEAD = struct.Struct("<4sIB")
_SERIES_MAGIC = b"IBM1"
_WIDTHS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class CodecError(ValueError):
    """A blob that does not decode (corrupt or foreign)."""


def _for_pack(v: np.ndarray) -> tuple[int, int, bytes]:
    """Frame-of-reference + narrowest width + byte shuffle: (offset, width, bytes)."""
    if v.size == 0:
        return 0, 1, b""
    lo = int(v.min())
    u = (v - np.int64(lo)).view(np.uint64)
    top = int(u.max())
    w = 1 if top < 1 << 8 else 2 if top < 1 << 16 else 4 if top < 1 << 32 else 8
    return lo, w, u.astype(_WIDTHS[w]).view(np.uint8).reshape(-1, w).T.tobytes()


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
        level = 0 if n >= 1000 and int(s[-1] - s[0]) < n * FAST_SPACING_NS else 6
    magic = _SAMPLE_MAGIC if level else _SAMPLE_MAGIC_RAW
    head = _SAMPLE_HEAD.pack(magic, n, int(s[0]), dlo, glo, ilo, dw, gw, iw)
    body = db + gb + ib
    return head + (zlib.compress(body, level) if level else body)


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


def decode_samples(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of `encode_samples`: (start_ns int64, dur_ns int64, input_idx int32). Raises CodecError."""
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) < _SAMPLE_HEAD.size:
        raise CodecError("sample block too short")
    magic, n, s0, dlo, glo, ilo, dw, gw, iw = _SAMPLE_HEAD.unpack_from(blob)
    if magic not in (_SAMPLE_MAGIC, _SAMPLE_MAGIC_RAW) or n == 0 or n > MAX_BLOCK_SAMPLES * 4 \
            or not {dw, gw, iw} <= _WIDTHS.keys():
        raise CodecError("bad sample block header")
    expected = n * dw + (n - 1) * gw + n * iw
    body = memoryview(blob)[_SAMPLE_HEAD.size :]
    if magic == _SAMPLE_MAGIC_RAW:
        if len(body) != expected:
            raise CodecError("block has the wrong length")
        raw = body
    else:
        raw = memoryview(_inflate(body, expected))
    d = _for_unpack(raw, n, dlo, dw)
    gap = _for_unpack(raw[n * dw :], n - 1, glo, gw)
    didx = _for_unpack(raw[n * dw + (n - 1) * gw :], n, ilo, iw)
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


def decode_series(blob: bytes) -> tuple[np.ndarray, list[Any] | np.ndarray]:
    """Inverse of `encode_series`: (t_ns int64, float64 array or list of values). Raises CodecError."""
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) < _SERIES_HEAD.size:
        raise CodecError("monitor block too short")
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
