"""`Recorder`: the always-on RunListener that writes a run to a session file as it happens.

Listener calls only append to a queue (never block engine-host or sampler threads). One writer thread drains
it, compresses sample blocks and commits at least every `commit_interval_s` (< 1 s), so `kill -9` loses at
most the last second and the file (SQLite WAL) still opens. `close(outcome)` commits everything queued,
marks the outcome and folds the WAL back into the single file.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from infbench import __version__
from infbench.errors import SessionError
from infbench.records import BackendInfo, MonitorReading, RunEvent, SampleBlock, TurnRecord
from infbench.sessions import extras, schema


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if "full" in text.lower() or getattr(exc, "errno", None) == 28:
        return f"disk full ({text})"
    return f"{type(exc).__name__}: {text}"


class Recorder:
    """Writes everything a run produces to a new session file. Implements `RunListener`.

    `clock` stamps backend-info updates (perf_counter_ns); `clock` and `wall_clock` are replaceable for
    deterministic fixtures.

    Attributes:
        path: the session file.
        error: None while healthy; a one-line description once writing failed (the runner checks it and
            stops the run). `on_error`, when given, is also called once with that line.
        samples_written: number of latency samples committed so far.

    Raises:
        SessionError: (from the constructor) when the file cannot be created: exists, unwritable, disk full.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        commit_interval_s: float = 0.5,
        on_error: Callable[[str], None] | None = None,
        overwrite: bool = False,
        clock: Callable[[], int] = time.perf_counter_ns,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock, self.wall_clock = clock, wall_clock
        self.path = Path(path).expanduser()
        self.error: str | None = None
        self.on_error = on_error
        self.samples_written = 0
        self.commit_interval_s = commit_interval_s
        self._queue: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._stop = False
        self._closed = False
        self._lock = threading.RLock()
        self._pending: dict[tuple[str, str], list[SampleBlock]] = {}
        self._open_rows: dict[
            tuple[str, str], tuple[int, np.ndarray, np.ndarray, np.ndarray, extras.Extras | None]
        ] = {}
        self._metric_ids: dict[str, int] = {}
        self._conn = self._create(overwrite)
        self._thread = threading.Thread(target=self._loop, name="infbench-recorder", daemon=True)
        self._thread.start()

    # ---- opening -----------------------------------------------------------------------------------------
    def _create(self, overwrite: bool) -> sqlite3.Connection:
        p = self.path
        try:
            if p.exists():
                if p.is_dir():
                    raise SessionError(f"cannot record to {p}: it is a directory")
                if p.stat().st_size > 0 and not overwrite:
                    raise SessionError(f"cannot record to {p}: file exists (choose another --save path)")
                p.unlink()
            p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(p), timeout=5.0, isolation_level=None, check_same_thread=False)
        except SessionError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise SessionError(f"cannot create session file {p}: {_describe(exc)}") from None
        try:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # before any table: lets close() return free pages
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"WAL journal not available (got {mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA application_id={schema.APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION}")
            conn.executescript(schema.DDL)
            conn.execute("BEGIN")
            self._put_meta(
                conn,
                {
                    "schema_version": schema.SCHEMA_VERSION,
                    "infbench_version": __version__,
                    "created": self.wall_clock(),
                    "outcome": None,
                },
            )
            conn.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:
            with contextlib.suppress(Exception):
                conn.close()
            self._remove_files()
            raise SessionError(f"cannot write session file {p}: {_describe(exc)}") from None
        return conn

    # ---- RunListener (enqueue only) ----------------------------------------------------------------------
    def on_start(self, plan: dict[str, Any], system: dict[str, Any], t0_ns: int, t0_wall: float) -> None:
        """Queue the plan, fingerprint and clock origin."""
        self._put(("meta", {"plan": plan, "system": system, "t0_ns": int(t0_ns), "t0_wall": float(t0_wall)}))

    def on_backend(self, info: BackendInfo) -> None:
        """Queue a snapshot of a backend's info, stamped with the current time."""
        self._put(("backend", (self.clock(), info.label, schema.dumps(info.to_dict()))))

    def on_samples(self, block: SampleBlock) -> None:
        """Queue a sample block (its arrays are kept, not copied)."""
        if len(block):
            self._put(("samples", block))

    def on_monitor(self, readings: list[MonitorReading]) -> None:
        """Queue monitor readings."""
        self._put(("monitor", readings))

    def on_event(self, event: RunEvent) -> None:
        """Queue an event."""
        self._put(("event", event))

    def on_turn(self, turn: TurnRecord) -> None:
        """Queue a finished turn."""
        self._put(("turn", turn))

    def on_finish(self, outcome: str) -> None:
        """Queue the outcome (``close`` writes it again and finalises the file)."""
        self._put(("meta", {"outcome": outcome}))

    def _put(self, item: tuple[str, Any]) -> None:
        if not self._closed:
            self._queue.append(item)

    # ---- control -----------------------------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        """True once a write failed (see `error`)."""
        return self.error is not None

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued so far is committed; False on timeout or after a failure."""
        done = threading.Event()
        self._put(("flush", done))
        self._wake.set()
        return done.wait(timeout) and self.error is None

    def close(self, outcome: str | None = "complete", timeout: float = 30.0) -> None:
        """Commit everything queued, record `outcome`, fold the WAL into the file. Idempotent and fast.

        Safe to call from a signal handler's thread (``close("interrupted")``): later calls return at once.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop = True
            self._wake.set()
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._fail(RuntimeError(f"writer did not finish within {timeout:.0f} s"))
                return
            conn = self._conn
            try:
                if self.error is None:
                    conn.execute("BEGIN")
                    meta: dict[str, Any] = {"ended_wall": self.wall_clock()}
                    if outcome is not None:
                        meta["outcome"] = outcome
                    self._put_meta(conn, meta)
                    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
                    for _ in range(min(int(free), 100_000)):  # Python's sqlite3 frees one page per execute
                        conn.execute("PRAGMA incremental_vacuum(1)")
                    conn.execute("COMMIT")
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("PRAGMA journal_mode=DELETE")
            except (OSError, sqlite3.Error) as exc:
                self._fail(exc)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()

    def discard(self) -> None:
        """Stop and delete the session file (a run that never started)."""
        self.close(None)
        self._remove_files()

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(str(self.path) + suffix)

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = f"cannot write session file {self.path}: {_describe(exc)}"
            if self.on_error is not None:
                with contextlib.suppress(Exception):
                    self.on_error(self.error)

    # ---- writer thread -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wake.wait(self.commit_interval_s)
            self._wake.clear()
            stopping = self._stop
            items = []
            while self._queue:
                items.append(self._queue.popleft())
            flushes = [x[1] for x in items if x[0] == "flush"]
            if self.error is None and (items or self._pending):
                try:
                    self._write(items)
                except Exception as exc:
                    with contextlib.suppress(Exception):
                        self._conn.execute("ROLLBACK")
                    self._fail(exc)
            for ev in flushes:
                ev.set()
            if stopping and not self._queue:
                return

    def _write(self, items: list[tuple[str, Any]]) -> None:
        conn = self._conn
        monitors: dict[str, tuple[list[int], list[Any]]] = {}
        turns: list[tuple[str, str, int, int, int, int]] = []
        conn.execute("BEGIN")
        for kind, payload in items:
            if kind == "samples":
                self._pending.setdefault((payload.backend, payload.phase), []).append(payload)
            elif kind == "monitor":
                for r in payload:
                    for name, value in r.values.items():
                        ts, vs = monitors.setdefault(name, ([], []))
                        ts.append(int(r.t_ns))
                        vs.append(value)
            elif kind == "event":
                e = payload
                conn.execute(
                    "INSERT INTO events (t_ns, kind, backend, message, data) VALUES (?,?,?,?,?)",
                    (int(e.t_ns), e.kind, e.backend, e.message, schema.dumps(e.data)),
                )
            elif kind == "backend":
                conn.execute("INSERT INTO backends (t_ns, label, info) VALUES (?,?,?)", payload)
            elif kind == "turn":
                t = payload
                turns.append(
                    (t.backend, t.phase, int(t.start_ns), int(t.end_ns), int(t.calls), int(t.busy_ns))
                )
            elif kind == "meta":
                self._put_meta(conn, payload)
        if turns:
            conn.executemany(
                "INSERT INTO turns (label, phase, start_ns, end_ns, calls, busy_ns) VALUES (?,?,?,?,?,?)",
                turns,
            )
        for (label, phase), blocks in self._pending.items():
            self._write_samples(conn, label, phase, blocks)
        self._pending.clear()
        for name, (ts, vs) in monitors.items():
            order = sorted(range(len(ts)), key=ts.__getitem__)
            ts, vs = [ts[i] for i in order], [vs[i] for i in order]
            blob = schema.encode_series(ts, vs)
            conn.execute(
                "INSERT INTO monitor_blocks (metric_id, t_first_ns, t_last_ns, n, blob, crc) VALUES (?,?,?,?,?,?)",
                (self._metric_id(conn, name), ts[0], ts[-1], len(ts), blob, schema.checksum(blob)),
            )
        conn.execute("COMMIT")

    def _write_samples(
        self, conn: sqlite3.Connection, label: str, phase: str, blocks: list[SampleBlock]
    ) -> None:
        """Append to the (label, phase) row still open (re-encoded in place), then new rows of at most
        MAX_BLOCK_SAMPLES; the last one stays open. Slow engines thus get few large rows, not one per commit.
        Calls with parts or token stamps get a ``call_extras`` row beside their sample row."""
        parts = [
            (
                np.asarray(b.start_ns, np.int64),
                np.asarray(b.dur_ns, np.int64),
                np.zeros(len(b), np.int64) if b.input_idx is None else np.asarray(b.input_idx, np.int64),
            )
            for b in blocks
        ]
        ex_parts: list[extras.Extras | None] = [
            extras.of_block(len(b), b.parts, b.tokens, b.token_counts)
            if b.parts or b.tokens is not None
            else None
            for b in blocks
        ]
        self.samples_written += sum(p[0].size for p in parts)
        key = (label, phase)
        rowid: int | None = None
        open_row = self._open_rows.pop(key, None)
        if open_row is not None:
            rowid, prev_start, prev_dur, prev_idx, prev_ex = open_row
            parts.insert(0, (prev_start, prev_dur, prev_idx))
            ex_parts.insert(0, prev_ex)
        start, dur, idx = (np.concatenate([p[k] for p in parts]) for k in range(3))
        ex_all: extras.Extras | None = None
        if any(x is not None for x in ex_parts):
            ex_all = extras.merge([x or extras.Extras(p[0].size) for x, p in zip(ex_parts, parts)])
        step = schema.MAX_BLOCK_SAMPLES
        for i in range(0, start.size, step):
            s, d, x = start[i : i + step], dur[i : i + step], idx[i : i + step]
            ex = None if ex_all is None else ex_all.take(_window(start.size, i, step))
            blob = schema.encode_samples(s, d, x)
            values = (int(s.min()), int(s.max()), int(s.size), blob, schema.checksum(blob))
            if rowid is not None:
                conn.execute(
                    "UPDATE sample_blocks SET t_first_ns=?, t_last_ns=?, n=?, blob=?, crc=? WHERE id=?",
                    (*values, rowid),
                )
            else:
                new_id = conn.execute(
                    "INSERT INTO sample_blocks (label, phase, t_first_ns, t_last_ns, n, blob, crc) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (label, phase, *values),
                ).lastrowid
                assert new_id is not None, "a successful INSERT sets lastrowid"
                rowid = new_id
            if ex is not None:
                xblob = extras.encode(ex)
                conn.execute(
                    "INSERT OR REPLACE INTO call_extras (block_id, blob, crc) VALUES (?,?,?)",
                    (rowid, xblob, schema.checksum(xblob)),
                )
            if s.size < step:
                self._open_rows[key] = (rowid, s, d, x, ex)
            rowid = None

    def _metric_id(self, conn: sqlite3.Connection, name: str) -> int:
        mid = self._metric_ids.get(name)
        if mid is None:
            new_id = conn.execute("INSERT INTO metrics (name) VALUES (?)", (name,)).lastrowid
            assert new_id is not None, "a successful INSERT sets lastrowid"
            mid = self._metric_ids[name] = new_id
        return mid

    @staticmethod
    def _put_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [(k, schema.dumps(v)) for k, v in values.items()],
        )


def _window(n: int, i: int, step: int) -> np.ndarray:
    """Boolean mask of calls [i, i + step) among n."""
    m = np.zeros(n, bool)
    m[i : i + step] = True
    return m
