"""Per-call extras of a sample block — call parts (sub-timings) and token stamps: merging and the file codec.

Engines that report call parts (`Engine.call_parts`) or stamp generated tokens (`Engine.emits_tokens`) ship
them in their sample blocks (`records.SampleBlock.parts`, ``tokens``, ``token_counts``). The live store and the
session reader both answer `RunData.parts` / `RunData.tokens` by concatenating blocks with `merge`.

Blob (table ``call_extras``, one row per ``sample_blocks`` row, schema 3): header (magic ``IBX1``, calls n,
parts k, stamps m, flags, length of the part names) then the part names (UTF-8, newline-separated) then zlib of
int64 little-endian arrays: the k part columns (n each), then — when flag 1 (tokens) is set — the n token counts
and the m stamps as deltas from the previous stamp (the first from 0). Exact, no pickle.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

_HEAD = struct.Struct("<4sIIIBI")
_MAGIC = b"IBX1"
_HAS_TOKENS = 1
MAX_PARTS = 64
MAX_STAMPS = 1 << 26
NO_PART = -1  # a call that did not report a part another call of the same backend reported


class ExtrasError(ValueError):
    """An extras blob that does not decode (corrupt or foreign)."""


@dataclass
class Extras:
    """The extras of n consecutive calls: part name → int64[n], and optionally token counts + flat stamps."""

    n: int
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    token_counts: np.ndarray | None = None  # int64[n]
    tokens: np.ndarray | None = None  # int64[sum(token_counts)]

    @property
    def empty(self) -> bool:
        """Neither parts nor tokens."""
        return not self.parts and self.token_counts is None

    def take(self, mask: np.ndarray) -> Extras:
        """The extras of the calls where `mask` (bool[n]) is true."""
        parts = {k: v[mask] for k, v in self.parts.items()}
        if self.token_counts is None or self.tokens is None:
            return Extras(int(mask.sum()), parts)
        keep = np.repeat(mask, self.token_counts)
        return Extras(int(mask.sum()), parts, self.token_counts[mask], self.tokens[keep])


def of_block(
    n: int, parts: Mapping[str, np.ndarray], tokens: np.ndarray | None, counts: np.ndarray | None
) -> Extras:
    """Extras of one sample block of `n` calls (arrays as the block holds them); checks their lengths."""
    cols = {str(k): np.asarray(v, np.int64).ravel() for k, v in parts.items()}
    for name, col in cols.items():
        if col.size != n:
            raise ValueError(f"call part {name!r} has {col.size} values for {n} calls")
    if tokens is None or counts is None:
        return Extras(n, cols)
    c = np.asarray(counts, np.int64).ravel()
    t = np.asarray(tokens, np.int64).ravel()
    if c.size != n or int(c.sum()) != t.size or (c.size and int(c.min()) < 0):
        raise ValueError(f"token counts ({c.size} calls, sum {int(c.sum())}) do not match {t.size} stamps")
    return Extras(n, cols, c, t)


def merge(items: Sequence[Extras]) -> Extras:
    """Concatenate extras of consecutive blocks. A part some block lacks is `NO_PART` there; token counts of a
    block without tokens are 0 when another block has tokens."""
    n = sum(x.n for x in items)
    names = list(dict.fromkeys(k for x in items for k in x.parts))
    parts = {
        k: np.concatenate([x.parts.get(k, np.full(x.n, NO_PART, np.int64)) for x in items])
        if items
        else np.empty(0, np.int64)
        for k in names
    }
    if not any(x.token_counts is not None for x in items):
        return Extras(n, parts)
    counts = np.concatenate(
        [x.token_counts if x.token_counts is not None else np.zeros(x.n, np.int64) for x in items]
    )
    stamps = [x.tokens for x in items if x.tokens is not None]
    return Extras(n, parts, counts, np.concatenate(stamps) if stamps else np.empty(0, np.int64))


def reorder(ex: Extras, order: np.ndarray) -> Extras:
    """The extras with calls permuted by `order` (indices into the calls), stamps moved with their call."""
    parts = {k: v[order] for k, v in ex.parts.items()}
    if ex.token_counts is None or ex.tokens is None:
        return Extras(ex.n, parts)
    ends = np.cumsum(ex.token_counts)
    starts = ends - ex.token_counts
    pieces = [ex.tokens[starts[i] : ends[i]] for i in order.tolist()]
    tokens = np.concatenate(pieces) if pieces else np.empty(0, np.int64)
    return Extras(ex.n, parts, ex.token_counts[order], tokens)


def encode(ex: Extras) -> bytes:
    """Pack the extras of one stored sample block (lossless)."""
    names = list(ex.parts)
    if len(names) > MAX_PARTS or any("\n" in k for k in names):
        raise ValueError("too many call parts, or a part name with a newline")
    text = "\n".join(names).encode()
    body = [np.ascontiguousarray(ex.parts[k], np.int64).astype("<i8").tobytes() for k in names]
    flags, m = 0, 0
    if ex.token_counts is not None and ex.tokens is not None:
        flags |= _HAS_TOKENS
        m = int(ex.tokens.size)
        body.append(np.ascontiguousarray(ex.token_counts, np.int64).astype("<i8").tobytes())
        body.append(np.diff(ex.tokens.astype(np.int64), prepend=np.int64(0)).astype("<i8").tobytes())
    head = _HEAD.pack(_MAGIC, ex.n, len(names), m, flags, len(text))
    return head + text + zlib.compress(b"".join(body), 6)


def decode(blob: bytes, n: int) -> Extras:
    """Inverse of `encode` for a block of `n` calls. Raises ExtrasError."""
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) < _HEAD.size:
        raise ExtrasError("call extras block too short")
    magic, bn, k, m, flags, tlen = _HEAD.unpack_from(blob)
    if magic != _MAGIC or bn != n or k > MAX_PARTS or m > MAX_STAMPS or flags & ~_HAS_TOKENS:
        raise ExtrasError("bad call extras header")
    try:
        names = bytes(blob[_HEAD.size : _HEAD.size + tlen]).decode() if tlen else ""
    except UnicodeDecodeError:
        raise ExtrasError("bad call part names") from None
    keys = names.split("\n") if k else []
    if len(keys) != k or len(set(keys)) != k:
        raise ExtrasError("bad call part names")
    tok = bool(flags & _HAS_TOKENS)
    expected = 8 * (k * n + (n + m if tok else 0))
    try:
        z = zlib.decompressobj()
        raw = z.decompress(bytes(blob[_HEAD.size + tlen :]), expected + 1)
    except zlib.error as exc:
        raise ExtrasError(f"bad compressed call extras: {exc}") from None
    if len(raw) != expected or not z.eof:
        raise ExtrasError("call extras block has the wrong length")
    arr = np.frombuffer(raw, "<i8").astype(np.int64)
    parts = {name: arr[i * n : (i + 1) * n] for i, name in enumerate(keys)}
    if not tok:
        return Extras(n, parts)
    counts = arr[k * n : (k + 1) * n]
    if (counts.size and int(counts.min()) < 0) or int(counts.sum()) != m:
        raise ExtrasError("token counts do not match the stamps")
    with np.errstate(over="ignore"):
        stamps = np.cumsum(arr[(k + 1) * n :])
    return Extras(n, parts, counts, stamps)


def tokens_of(start: np.ndarray, ex: Extras) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`RunData.tokens`' answer from the calls' start times and their extras."""
    if ex.token_counts is None or ex.tokens is None:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    return np.asarray(start, np.int64), ex.token_counts.astype(np.int64), ex.tokens.astype(np.int64)
