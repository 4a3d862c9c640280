"""Read a recorded session: `open_session(path)` → `SessionReader`, a `RunData` over the file.

Opening reads only metadata and the block index; sample blocks are decoded on demand (LRU cache), so opening
a 10-million-sample session and seeking is well under a second. Files are untrusted: anything truncated,
corrupt, foreign or too new raises `SessionError` with one line — never another exception.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from infbench.errors import SessionError
from infbench.records import PHASE_WARMUP, BackendInfo, RunEvent, SampleBlock
from infbench.sessions import extras, schema, validate
from infbench.sessions.turns import TurnArrays, infer_turns, turn_arrays, whole_turn

F = TypeVar("F", bound=Callable[..., Any])
SQLITE_MAGIC = b"SQLite format 3\x00"
_CORRUPT = (
    sqlite3.Error,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    MemoryError,
    UnicodeError,
)
DEFAULT_BLOCK_S = 0.25  # turn length assumed for inferring turns when a schema-1 plan does not give one


def guarded(fn: F) -> F:
    """Turn any error from reading a bad file into a one-line SessionError naming the file."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except SessionError:
            raise
        except _CORRUPT as exc:
            detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise SessionError(f"{self.path}: corrupt or truncated session file ({detail})") from None

    return wrapper  # type: ignore[return-value]


def open_session(path: str | Path) -> SessionReader:
    """Open a session file for reading. Raises SessionError (missing, empty, foreign, corrupt, newer)."""
    return SessionReader(path)


def _check_file(p: Path) -> None:
    if not p.exists():
        raise SessionError(f"{p}: no such session file")
    if not p.is_file():
        raise SessionError(f"{p}: not a file")
    try:
        with open(p, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise SessionError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if not head:
        raise SessionError(f"{p}: empty file, not an infbench session")
    if not head.startswith(SQLITE_MAGIC):
        raise SessionError(f"{p}: not an infbench session file (not an SQLite database)")
    if len(head) < 100:
        raise SessionError(f"{p}: truncated session file")


class SessionReader:
    """A recorded run, read lazily. Implements `RunData`, plus `metadata`, `iter_blocks` and `seek`."""

    cache_samples = 4_000_000  # decoded samples kept in the LRU cache

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        _check_file(self.path)
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
        except sqlite3.Error as exc:
            raise SessionError(f"{self.path}: cannot open: {exc}") from None
        self._cache: collections.OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = (
            collections.OrderedDict()
        )
        self._cached = 0
        self._series: dict[str, tuple[np.ndarray, np.ndarray, list[Any] | None]] = {}
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    @guarded
    def _load(self) -> None:
        db = self._db
        db.execute("PRAGMA query_only=ON")
        app = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app != schema.APPLICATION_ID:
            raise SessionError(
                f"{self.path}: not an infbench session file (an SQLite database of another kind)"
            )
        if version > schema.SCHEMA_VERSION:
            raise SessionError(
                f"{self.path}: written by a newer infbench (session schema {version}, this "
                f"version reads up to {schema.SCHEMA_VERSION}); upgrade infbench-tui"
            )
        self._checked = version >= 2  # turns recorded, blocks checksummed
        self._with_extras = version >= 3  # call parts and token stamps recorded
        needed = (
            schema.TABLES_V3 if self._with_extras else schema.TABLES_V2 if self._checked else schema.TABLES_V1
        )
        complete = version >= schema.MIN_SCHEMA_VERSION and needed <= tables
        if not complete or (self._checked and not all(self._has_crc(t) for t in schema.CRC_TABLES)):
            raise SessionError(f"{self.path}: incomplete session file (schema tables missing)")
        meta = {k: schema.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        self.plan: dict[str, Any] = validate.as_dict(meta.get("plan"))
        self.system: dict[str, Any] = validate.as_dict(meta.get("system"))
        self.t0_wall = validate.as_float(meta.get("t0_wall", 0.0), "t0_wall")
        rows = db.execute(
            "SELECT id, label, phase, t_first_ns, t_last_ns, n FROM sample_blocks ORDER BY t_first_ns, id"
        ).fetchall()
        for r in rows:
            if not (
                isinstance(r[1], str)
                and isinstance(r[2], str)
                and all(isinstance(x, int) for x in r[3:])
                and 0 < r[5] <= 4 * schema.MAX_BLOCK_SAMPLES
                and r[3] <= r[4]
            ):
                raise ValueError("bad sample block index row")
        self._rows = rows
        self._ids = np.array([r[0] for r in rows], np.int64)
        self._t_first = np.array([r[3] for r in rows], np.int64)
        self._t_last = np.array([r[4] for r in rows], np.int64)
        self._labels = np.array([r[1] for r in rows], object)
        self._phases = np.array([r[2] for r in rows], object)
        self._metric_ids = {str(n): int(i) for i, n in db.execute("SELECT id, name FROM metrics")}
        self._extra_ids: set[int] = set()
        if self._with_extras:
            ids = [r[0] for r in db.execute("SELECT block_id FROM call_extras")]
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
                raise ValueError("bad call extras row")
            self._extra_ids = set(ids)
        self._xcache: dict[int, extras.Extras] = {}
        default_t0 = int(self._t_first.min()) if rows else 0
        self.t0_ns = validate.as_int(meta.get("t0_ns", default_t0), "t0_ns")
        self.metadata: dict[str, Any] = {
            "path": str(self.path),
            "schema_version": version,
            "size_bytes": self.path.stat().st_size,
            "infbench_version": str(meta.get("infbench_version", "?")),
            "created": meta.get("created"),
            "ended_wall": meta.get("ended_wall"),
            "t0_wall": self.t0_wall,
            "outcome": validate.clean_outcome(meta.get("outcome")),
            "turns": "recorded" if self._checked else "inferred",
            "samples": {
                str(lb): int(sum(r[5] for r in rows if r[1] == lb)) for lb in dict.fromkeys(self._labels)
            },
        }
        self._end: int | None = None
        self._turns: dict[tuple[str, str | None], TurnArrays] = {}

    def _has_crc(self, table: str) -> bool:
        return any(r[1] == "crc" for r in self._db.execute(f"PRAGMA table_info({table})"))

    def _crc(self, value: Any, what: str) -> int | None:
        """The stored checksum of a block (None in a schema-1 file, which has none)."""
        if not self._checked:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} has no checksum")
        return value

    def close(self) -> None:
        """Close the file."""
        with contextlib.suppress(Exception):
            self._db.close()

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- RunData -----------------------------------------------------------------------------------------
    @guarded
    def backend_infos(self, at_ns: int | None = None) -> dict[str, BackendInfo]:
        """Label → latest BackendInfo (as of `at_ns` when given), plan order first."""
        cond, args = ("WHERE t_ns <= ?", (int(at_ns),)) if at_ns is not None else ("", ())
        rows = self._db.execute(
            f"SELECT label, info FROM backends WHERE id IN (SELECT MAX(id) FROM backends "
            f"{cond} GROUP BY label) ORDER BY id",
            args,
        ).fetchall()
        latest = {str(label): validate.clean_info(schema.loads(info), str(label)) for label, info in rows}
        stored = [b.get("label") for b in self.plan.get("backends", []) if isinstance(b, dict)]
        order = [str(x) for x in stored if x is not None]
        order += [x for x in latest if x not in order]
        order += [str(x) for x in dict.fromkeys(self._labels) if x not in order]
        infos = {lb: latest.get(lb) or BackendInfo(lb, lb, {}) for lb in order}
        return validate.attach_roles(infos, self.plan)

    @guarded
    def end_ns(self) -> int:
        """Latest timestamp recorded: last call's end, last monitor reading or last event."""
        if self._end is None:
            ends = [self.t0_ns]
            for label in dict.fromkeys(self._labels):
                last = int(np.flatnonzero(self._labels == label).max())
                start, dur, _ = self._decode(last)
                ends.append(int((start + dur).max()))
            for q in ("SELECT MAX(t_last_ns) FROM monitor_blocks", "SELECT MAX(t_ns) FROM events"):
                v = self._db.execute(q).fetchone()[0]
                if isinstance(v, int):
                    ends.append(v)
            self._end = max(ends)
        return self._end

    def samples(
        self, label: str, t0_ns: int | None = None, t1_ns: int | None = None, phase: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(start_ns, dur_ns) of `label`'s calls starting in [t0_ns, t1_ns), by start time."""
        start, dur, _ = self.samples_full(label, t0_ns, t1_ns, phase)
        return start, dur

    @guarded
    def samples_full(
        self, label: str, t0_ns: int | None = None, t1_ns: int | None = None, phase: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like `samples`, plus the input index of every call."""
        sel = self._select(t0_ns, t1_ns, label, phase)
        parts = [self._clip(self._decode(i), t0_ns, t1_ns) for i in sel]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
        start, dur, idx = (np.concatenate([p[k] for p in parts]) for k in range(3))
        if start.size > 1 and np.any(np.diff(start) < 0):
            order = np.argsort(start, kind="stable")
            start, dur, idx = start[order], dur[order], idx[order]
        return start, dur, idx

    @guarded
    def iter_blocks(
        self, t0_ns: int | None = None, t1_ns: int | None = None, labels: list[str] | None = None
    ) -> Iterator[SampleBlock]:
        """Recorded blocks overlapping [t0_ns, t1_ns) in time order, clipped to the window."""
        for i in self._select(t0_ns, t1_ns, None, None):
            if labels is not None and self._labels[i] not in labels:
                continue
            full = self._decode(i)
            start, dur, idx = self._clip(full, t0_ns, t1_ns)
            if not start.size:
                continue
            ex = self._decode_extras(i)
            if ex is not None and start.size != full[0].size:
                ex = ex.take(self._mask(full[0], t0_ns, t1_ns))
            yield SampleBlock(
                str(self._labels[i]),
                str(self._phases[i]),
                start,
                dur,
                idx,
                {} if ex is None else ex.parts,
                None if ex is None else ex.tokens,
                None if ex is None or ex.token_counts is None else ex.token_counts.astype(np.int32),
            )

    def _select(self, t0: int | None, t1: int | None, label: str | None, phase: str | None) -> np.ndarray:
        m = np.ones(self._ids.size, bool)
        if label is not None:
            m &= self._labels == label
        if phase is not None:
            m &= self._phases == phase
        if t0 is not None:
            m &= self._t_last >= t0
        if t1 is not None:
            m &= self._t_first < t1
        return np.flatnonzero(m)

    @staticmethod
    def _mask(start: np.ndarray, t0: int | None, t1: int | None) -> np.ndarray:
        m = np.ones(start.size, bool)
        if t0 is not None:
            m &= start >= t0
        if t1 is not None:
            m &= start < t1
        return m

    @classmethod
    def _clip(
        cls, block: tuple[np.ndarray, np.ndarray, np.ndarray], t0: int | None, t1: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start, dur, idx = block
        if t0 is None and t1 is None:
            return block
        m = cls._mask(start, t0, t1)
        return start[m], dur[m], idx[m]

    @guarded
    def _decode_extras(self, i: int) -> extras.Extras | None:
        """The call extras of row `i` of the index (cached), or None when it has none."""
        rid = int(self._ids[i])
        if rid not in self._extra_ids:
            return None
        hit = self._xcache.get(rid)
        if hit is not None:
            return hit
        row = self._db.execute("SELECT blob, crc FROM call_extras WHERE block_id = ?", (rid,)).fetchone()
        if row is None or not isinstance(row[0], bytes):
            raise ValueError("call extras block missing")
        _, label, phase, _, _, n = self._rows[i]
        try:
            schema.verify(row[0], self._crc(row[1], "call extras block"), "call extras block")
            out = extras.decode(row[0], n)
        except (schema.CodecError, extras.ExtrasError) as exc:
            raise ValueError(f"{exc}: block {rid} of {label!r} ({phase})") from None
        if len(self._xcache) > 256:
            self._xcache.clear()
        self._xcache[rid] = out
        return out

    @guarded
    def _calls(self, label: str, phase: str | None) -> tuple[np.ndarray, extras.Extras] | None:
        """(start_ns, extras) of `label`'s calls in `phase`, in `samples` order; None when none has extras."""
        sel = self._select(None, None, label, phase)
        found = [self._decode_extras(i) for i in sel]
        if not any(x is not None for x in found):
            return None
        starts = [self._decode(i)[0] for i in sel]
        start = np.concatenate(starts)
        ex = extras.merge([x or extras.Extras(s.size) for x, s in zip(found, starts)])
        if start.size > 1 and np.any(np.diff(start) < 0):
            order = np.argsort(start, kind="stable")
            start, ex = start[order], extras.reorder(ex, order)
        return start, ex

    def parts(self, label: str, phase: str | None = "measure") -> dict[str, np.ndarray]:
        """Part name → int64 ns per call of `label` (aligned with `samples` of that phase); {} without parts
        (and in files of schema < 3)."""
        hit = self._calls(label, phase)
        return {} if hit is None else dict(hit[1].parts)

    def tokens(self, label: str, phase: str | None = "measure") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(call start_ns, token count per call, flat stamps) of `label`'s calls; empty without tokens."""
        hit = self._calls(label, phase)
        if hit is None:
            return extras.tokens_of(np.empty(0, np.int64), extras.Extras(0))
        return extras.tokens_of(*hit)

    def part_columns(self) -> tuple[list[str], bool]:
        """(every call part name recorded, in first-seen order; whether any block has token stamps)."""
        names: list[str] = []
        tokens = False
        for i in range(self._ids.size):
            ex = self._decode_extras(i)
            if ex is not None:
                names += [k for k in ex.parts if k not in names]
                tokens = tokens or ex.token_counts is not None
        return names, tokens

    @guarded  # also inside the `iter_blocks` generator, whose own guard ends when it returns the generator
    def _decode(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode row `i` of the index (cached); validates it against its index entry."""
        rid = int(self._ids[i])
        hit = self._cache.get(rid)
        if hit is not None:
            self._cache.move_to_end(rid)
            return hit
        crc_col = "crc" if self._checked else "NULL"
        row = self._db.execute(f"SELECT blob, {crc_col} FROM sample_blocks WHERE id = ?", (rid,)).fetchone()
        if row is None or not isinstance(row[0], bytes):
            raise ValueError("sample block missing")
        _, label, phase, t_first, t_last, n = self._rows[i]
        try:
            out = schema.decode_samples(row[0], self._crc(row[1], "sample block"))
        except schema.CodecError as exc:
            raise ValueError(f"{exc}: block {rid} of {label!r} ({phase})") from None
        if out[0].size != n or int(out[0].min()) != t_first or int(out[0].max()) != t_last:
            raise ValueError("sample block does not match its index")
        self._cache[rid] = out
        self._cached += n
        while self._cached > self.cache_samples and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old[0].size
        return out

    @guarded
    def turns(self, label: str, phase: str | None = "measure") -> TurnArrays:
        """(start_ns, end_ns, calls, busy_ns) int64 of `label`'s turns in `phase` (None: all), by start.

        Recorded in schema-2 files; in schema-1 files inferred from the samples (`infer_turns`, approximate:
        ``metadata["turns"]`` says which).
        """
        key = (label, phase)
        hit = self._turns.get(key)
        if hit is None:
            hit = self._turns[key] = (
                self._read_turns(label, phase) if self._checked else self._infer(label, phase)
            )
        return hit

    def _read_turns(self, label: str, phase: str | None) -> TurnArrays:
        rows = self._db.execute(
            "SELECT start_ns, end_ns, calls, busy_ns FROM turns WHERE label = ? AND (phase = ? OR ? IS NULL) "
            "ORDER BY start_ns, id",
            (label, phase, phase),
        ).fetchall()
        for r in rows:
            if not (
                all(isinstance(x, int) and not isinstance(x, bool) for x in r)
                and r[0] <= r[1]
                and r[2] >= 0
                and r[3] >= 0
            ):
                raise ValueError("bad turn row")
        return turn_arrays(rows)

    def _infer(self, label: str, phase: str | None) -> TurnArrays:
        """Turns from the samples (schema 1): the runner warms each backend up in one turn; measured turns are
        inferred by `infer_turns`."""
        block_s = self.plan.get("block_s", DEFAULT_BLOCK_S)
        if isinstance(block_s, bool) or not isinstance(block_s, (int, float)) or not 0 < block_s < 1e6:
            block_s = DEFAULT_BLOCK_S
        phases = (
            [phase]
            if phase is not None
            else [str(p) for p in dict.fromkeys(self._phases[self._labels == label])]
        )
        parts = []
        for ph in phases:
            start, dur = self.samples(label, phase=ph)
            parts.append(
                whole_turn(start, dur) if ph == PHASE_WARMUP else infer_turns(start, dur, float(block_s))
            )
        return turn_arrays(np.concatenate([np.stack(p, axis=1) for p in parts]) if parts else [])

    def metrics(self) -> list[str]:
        """Names of all monitor metrics recorded."""
        return list(self._metric_ids)

    @guarded
    def _metric(self, metric: str) -> tuple[np.ndarray, np.ndarray, list[Any] | None]:
        hit = self._series.get(metric)
        if hit is None:
            mid = self._metric_ids.get(metric)
            ts: list[np.ndarray] = []
            vals: list[np.ndarray] = []
            raw: list[Any] = []
            crc_col = "crc" if self._checked else "NULL"
            rows = (
                []
                if mid is None
                else self._db.execute(
                    f"SELECT blob, {crc_col} FROM monitor_blocks WHERE metric_id = ? ORDER BY t_first_ns, id",
                    (mid,),
                )
            )
            for blob, crc in rows:
                try:
                    t, v = schema.decode_series(blob, self._crc(crc, "monitor block"))
                except schema.CodecError as exc:
                    raise ValueError(f"{exc}: metric {metric!r}") from None
                ts.append(t)
                vals.append(v if isinstance(v, np.ndarray) else np.array([_num(x) for x in v], np.float64))
                raw.extend(v.tolist() if isinstance(v, np.ndarray) else v)
            t = np.concatenate(ts) if ts else np.empty(0, np.int64)
            v = np.concatenate(vals) if vals else np.empty(0, np.float64)
            text = any(isinstance(x, str) for x in raw)
            order = np.argsort(t, kind="stable")
            hit = (t[order], v[order], [raw[k] for k in order] if text else None)
            self._series[metric] = hit
        return hit

    def monitor_series(
        self, metric: str, t0_ns: int | None = None, t1_ns: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(t_ns, value) of one metric in [t0_ns, t1_ns); NaN where unreadable or text."""
        t, v, _ = self._metric(metric)
        lo = 0 if t0_ns is None else int(np.searchsorted(t, t0_ns, "left"))
        hi = t.size if t1_ns is None else int(np.searchsorted(t, t1_ns, "left"))
        return t[lo:hi], v[lo:hi]

    def monitor_values(self, metric: str) -> tuple[np.ndarray, list[Any]]:
        """(t_ns, values) of one metric as recorded: numbers, strings or None."""
        t, v, raw = self._metric(metric)
        return t, raw if raw is not None else [None if np.isnan(x) else x for x in v.tolist()]

    def monitor_latest(self, t_ns: int) -> dict[str, float | str | None]:
        """The latest value of every metric at or before `t_ns`."""
        out: dict[str, float | str | None] = {}
        for name in self._metric_ids:
            t, v, raw = self._metric(name)
            i = int(np.searchsorted(t, t_ns, "right")) - 1
            if i >= 0:
                x = raw[i] if raw is not None else float(v[i])
                out[name] = None if isinstance(x, float) and np.isnan(x) else x
        return out

    @guarded
    def events(self, t0_ns: int | None = None, t1_ns: int | None = None) -> list[RunEvent]:
        """Events with t in [t0_ns, t1_ns), by time."""
        lo = -(1 << 63) if t0_ns is None else int(t0_ns)
        hi = (1 << 63) - 1 if t1_ns is None else int(t1_ns)
        rows = self._db.execute(
            "SELECT t_ns, kind, backend, message, data FROM events WHERE t_ns >= ? AND "
            "(t_ns < ? OR ? IS NULL) ORDER BY t_ns, id",
            (lo, hi, t1_ns),
        )
        return [validate.clean_event(t, k, b, m, schema.loads(d)) for t, k, b, m, d in rows]

    def outcome(self) -> str | None:
        """``complete`` | ``interrupted`` | ``failed``, or None when the recording was cut off."""
        return self.metadata["outcome"]


def _num(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else float("nan")
