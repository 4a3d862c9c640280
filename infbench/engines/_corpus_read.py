"""Reading a user corpus: plain text (one text per line), JSONL, CSV/TSV or Parquet (with pyarrow).

Every problem with the file is one `ConfigError` line naming the file and what to do.
"""

from __future__ import annotations

import csv
import importlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infbench.errors import ConfigError

log = logging.getLogger(__name__)

TEXT_FIELD = "text"  # the default JSONL field / CSV or Parquet column
_KINDS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FORMATS = "a text file (one text per line), JSONL, CSV/TSV or Parquet"


def _value(path: Path, where: str, field: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ConfigError(f"{path} {where}: {field!r} holds {type(value).__name__}, not text")
    if value.strip():
        out.append(value)


def _missing(path: Path, field: str, available: list[str], where: str = "") -> ConfigError:
    names = ", ".join(map(str, available)) or "none"
    kind = "field" if where else "column"
    return ConfigError(f"{path}{where} has no {kind} {field!r} ({kind}s: {names}): name the {kind} to read")


def _read_text(path: Path, column: str | None) -> list[str]:
    if column is not None:
        raise ConfigError(
            f"{path} is read as plain text (one text per line), so a column does not apply: "
            "columns are for .jsonl, .csv, .tsv and .parquet files"
        )
    with open(path, encoding="utf-8-sig") as fh:
        return [line.rstrip("\r\n") for line in fh if line.strip()]


def _read_jsonl(path: Path, column: str | None) -> list[str]:
    field = column or TEXT_FIELD
    out: list[str] = []
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{path} line {n} is not JSON ({exc.msg}): JSONL holds one JSON object per line"
                ) from exc
            if not isinstance(row, dict):
                raise ConfigError(
                    f"{path} line {n} is a JSON {type(row).__name__}, not an object with {field!r}"
                )
            if field not in row:
                raise _missing(path, field, list(row), f" line {n}")
            _value(path, f"line {n}", field, row[field], out)
    return out


def _read_csv(path: Path, column: str | None, delimiter: str) -> list[str]:
    field = column or TEXT_FIELD
    out: list[str] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        try:
            header = reader.fieldnames or []
            if field not in header:
                raise _missing(path, field, list(header))
            for row in reader:
                _value(path, f"line {reader.line_num}", field, row.get(field), out)
        except csv.Error as exc:
            raise ConfigError(f"{path} line {reader.line_num} is not valid CSV: {exc}") from exc
    return out


def _read_parquet(path: Path, column: str | None) -> list[str]:
    field = column or TEXT_FIELD
    try:
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise ConfigError(
            f"reading the Parquet corpus {path} needs the pyarrow package: pip install pyarrow"
        ) from exc
    try:
        schema = pq.read_schema(str(path))
        if field not in schema.names:
            raise _missing(path, field, list(schema.names))
        values = pq.read_table(str(path), columns=[field]).column(field).to_pylist()
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid / ArrowIOError
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{path} is not a readable Parquet file: {first[:200]}") from exc
    out: list[str] = []
    for i, value in enumerate(values):
        _value(path, f"row {i}", field, value, out)
    return out


_READERS: dict[str, Callable[[Path, str | None], list[str]]] = {
    "text": _read_text,
    "jsonl": _read_jsonl,
    "csv": lambda p, c: _read_csv(p, c, ","),
    "tsv": lambda p, c: _read_csv(p, c, "\t"),
    "parquet": _read_parquet,
}


def load_corpus(path: str | Path, column: str | None = None) -> list[str]:
    """The texts of a corpus file, chosen by its extension.

    ``.jsonl``/``.ndjson``/``.json``: one JSON object per line, field `column` (default ``text``);
    ``.csv``/``.tsv``: column `column` (default ``text``) of a file with a header row; ``.parquet``/``.pq``:
    column `column` (default ``text``), needs pyarrow; anything else: plain UTF-8 text, one text per line.
    Blank texts and nulls are skipped.

    Raises:
        ConfigError: one line, for a missing/unreadable/malformed file, a missing column, a non-text value,
            a corpus without text, or pyarrow missing for Parquet.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError(f"corpus file {path} does not exist: pass `builtin` or {FORMATS}")
    if not p.is_file():
        raise ConfigError(f"corpus {path} is not a file: pass `builtin` or {FORMATS}")
    kind = _KINDS.get(p.suffix.lower(), "text")
    try:
        texts = _READERS[kind](p, column)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"corpus file {path} is not UTF-8 text (byte {exc.start}): pass {FORMATS}") from exc
    except OSError as exc:
        raise ConfigError(f"corpus file {path} cannot be read: {exc.strerror or exc}") from exc
    if not texts:
        raise ConfigError(f"corpus file {path} holds no text")
    log.debug("corpus %s: %d texts (%s)", p, len(texts), kind)
    return texts
