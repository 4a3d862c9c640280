"""Raw data of a session as CSV or JSON records, streamed block by block (10 M samples fit in little memory)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from typing import Any, TextIO

import numpy as np

from infbench.sessions.extras import NO_PART

SAMPLE_COLUMNS = ("backend", "phase", "start_ns", "t_s", "dur_ns", "latency_ms")
MONITOR_COLUMNS = ("t_ns", "t_s", "metric", "value")
EVENT_COLUMNS = ("t_ns", "t_s", "kind", "backend", "message", "data")


class _Writer:
    """Writes records as CSV rows or as one JSON array of objects."""

    def __init__(self, out: TextIO, fmt: str, columns: tuple[str, ...]) -> None:
        self.out, self.fmt, self.columns, self.first = out, fmt, columns, True
        if fmt == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            self.csv.writerow(columns)
        else:
            out.write("[")

    def rows(self, rows: list[tuple[Any, ...]]) -> None:
        if self.fmt == "csv":
            self.csv.writerows(rows)
            return
        if not rows:
            return
        text = ",\n".join(json.dumps(dict(zip(self.columns, r)), allow_nan=False) for r in rows)
        self.out.write(("\n" if self.first else ",\n") + text)
        self.first = False

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n")


def _blocks(reader: Any, labels: list[str] | None) -> Iterator[Any]:
    """`reader.iter_blocks`, with a block that cannot be decoded raised as a one-line SessionError."""
    from infbench.errors import SessionError
    from infbench.sessions.reader import _CORRUPT

    blocks = reader.iter_blocks(labels=labels)
    while True:
        try:
            block = next(blocks)
        except StopIteration:
            return
        except SessionError:
            raise
        except _CORRUPT as exc:
            detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise SessionError(f"{reader.path}: corrupt or truncated session file ({detail})") from None
        yield block


def write_samples(
    reader: Any, out: TextIO, fmt: str, labels: list[str] | None = None, phase: str | None = None
) -> int:
    """Every latency sample (optionally of some backends / one phase), in time order. Returns the row count.

    Sessions with call parts get one column per part (``<part>_ns``; empty for a backend without it) and, with
    token stamps, ``token_count`` (stamped decoding steps of the call).
    """
    names, tokens = reader.part_columns() if hasattr(reader, "part_columns") else ([], False)
    columns = SAMPLE_COLUMNS + tuple(f"{k}_ns" for k in names) + (("token_count",) if tokens else ())
    w = _Writer(out, fmt, columns)
    n = 0
    for block in _blocks(reader, labels):
        if phase is not None and block.phase != phase:
            continue
        t_s = (block.start_ns - reader.t0_ns) / 1e9
        ms = block.dur_ns / 1e6
        cols: list[list[Any]] = [
            [block.backend] * len(block),
            [block.phase] * len(block),
            block.start_ns.tolist(),
            np.round(t_s, 9).tolist(),
            block.dur_ns.tolist(),
            ms.tolist(),
        ]
        for k in names:
            part = block.parts.get(k)
            cols.append(
                [None] * len(block)
                if part is None
                else [None if v == NO_PART else v for v in np.asarray(part).tolist()]
            )
        if tokens:
            counts = block.token_counts
            cols.append([None] * len(block) if counts is None else np.asarray(counts).tolist())
        rows = list(zip(*cols))
        w.rows(rows)
        n += len(rows)
    w.close()
    return n


def _value(v: Any) -> Any:
    """`v` with non-finite floats (also nested in lists/dicts) replaced by None, so the JSON is strict."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def write_monitors(reader: Any, out: TextIO, fmt: str) -> int:
    """Every monitor reading in long format (t_ns, t_s, metric, value), metric by metric."""
    w = _Writer(out, fmt, MONITOR_COLUMNS)
    n = 0
    for metric in reader.metrics():
        t, values = reader.monitor_values(metric)
        rows = [
            (int(ti), round((int(ti) - reader.t0_ns) / 1e9, 9), metric, _value(x))
            for ti, x in zip(t.tolist(), values)
        ]
        w.rows(rows)
        n += len(rows)
    w.close()
    return n


def write_events(reader: Any, out: TextIO, fmt: str) -> int:
    """Every event in time order; `data` is a JSON string in CSV and an object in JSON."""
    w = _Writer(out, fmt, EVENT_COLUMNS)
    rows = []
    for e in reader.events():
        data = json.dumps(_value(e.data), default=str) if fmt == "csv" else _value(e.data)
        rows.append((e.t_ns, round((e.t_ns - reader.t0_ns) / 1e9, 9), e.kind, e.backend, e.message, data))
    w.rows(rows)
    w.close()
    return len(rows)
