"""What the session-reading commands (report, replay, compare, export) accept, checked the same way everywhere.

One rule for bad input: a missing file, a directory, a model file or anything else that is not a readable
session, an output path that cannot be written, or a backend name a session does not have, is a `ConfigError`
(one line on stderr, exit code 2), raised before any work starts. `cli.py` also maps a `SessionError` met later
while reading a session (a corrupt block) to exit code 2 for these commands.

Backend names are resolved like `run --backend` takes them: a recorded label (``onnxruntime[threads=1]``,
``ort t2 b1``), or a backend name or alias (``onnxruntime``/``ort``, ``openvino``/``ov``, ``torch``/``pt``) that
stands for the session's only label of that backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from infbench.errors import ConfigError, SessionError
from infbench.vocab import Role

MODEL_SUFFIXES = (".onnx", ".safetensors", ".bin", ".pt", ".pth", ".xml")


def check_session_path(path: str, command: str) -> Path:
    """The session file `path` as a Path, after checking it is an existing file and not a model.

    Raises:
        ConfigError: missing, a directory (e.g. a Hugging Face model directory), or a model file.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError(f"{path}: no such session file")
    if p.is_dir():
        raise ConfigError(
            f"{path}: not a file but a directory; `{command}` takes a session file (.infb) written by `run`"
        )
    if p.suffix.lower() in MODEL_SUFFIXES and not _is_sqlite(p):
        raise ConfigError(
            f"{path}: a model file, not a session; `{command}` takes a session file (.infb) "
            f"written by `run` (to benchmark the model: infbench-tui run {path})"
        )
    return p


def _is_sqlite(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def open_session_input(path: str, command: str) -> Any:
    """Open a session for a command (a `SessionReader`, usable as a context manager).

    Raises:
        ConfigError: as `check_session_path`, or the file is not a readable session (empty, foreign, corrupt,
            written by a newer infbench); the message is the reader's own line.
    """
    from infbench.sessions.reader import open_session

    p = check_session_path(path, command)
    try:
        return open_session(p)
    except SessionError as exc:
        raise ConfigError(str(exc)) from None


def check_output_path(path: str, flag: str) -> None:
    """For an output file given to `flag` (``-`` is stdout): its directory must exist and it must not be one.

    Raises:
        ConfigError: the parent directory is missing or not writable, or `path` is a directory.
    """
    if path == "-":
        return
    target = Path(path).expanduser()
    parent = target.resolve().parent
    if target.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory; give a file path")
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ConfigError(f"{flag} {path}: cannot write there (permission denied)")


def _backend_of(info: Any) -> str:
    return str(getattr(info, "backend", "") or "")


def _is_twin(info: Any) -> bool:
    """An A/A twin (role ``aa-twin``): a backend name or alias never stands for it."""
    return Role.AA_TWIN in (getattr(info, "roles", None) or ())


def _engine_names(backend: str) -> list[str]:
    """The engine's name and aliases, or none for an engine not registered here."""
    from infbench.engines.registry import engine_info
    from infbench.errors import BackendUnavailable

    try:
        info = engine_info(backend)
    except BackendUnavailable:
        return []
    return [info.name, *info.aliases]


def valid_names(infos: Mapping[str, Any]) -> str:
    """``onnxruntime (ort), ov t1 b1, …``: the labels a session has, with the aliases that pick them."""
    by_backend: dict[str, list[str]] = {}
    for label, info in infos.items():
        if not _is_twin(info):
            by_backend.setdefault(_backend_of(info), []).append(label)
    out = []
    for label, info in infos.items():
        names = _engine_names(_backend_of(info))
        alias = [n for n in names if n != label] if by_backend.get(_backend_of(info)) == [label] else []
        out.append(f"{label} ({'/'.join(alias)})" if alias else label)
    return ", ".join(out) or "no backends"


def resolve_label(
    name: str, infos: Mapping[str, Any], where: str = "this session", flag: str = "--backend"
) -> str:
    """The label of session backends `infos` (label → BackendInfo) that `name` stands for.

    An exact label wins (then one differing only in case); otherwise `name` is read as a backend name or alias
    (as `run --backend` takes it) and picks the session's only label of that backend (the A/A twin aside).

    Raises:
        ConfigError: unknown name, or a backend with several labels here (the message lists them).
    """
    from infbench.engines.registry import canonical_backend
    from infbench.errors import BackendUnavailable

    if name in infos:
        return name
    folded = [label for label in infos if label.lower() == name.strip().lower()]
    if len(folded) == 1:
        return folded[0]
    try:
        backend = canonical_backend(name)
    except BackendUnavailable:
        raise ConfigError(f"{flag} {name}: not in {where}; choose from {valid_names(infos)}") from None
    if backend in infos:
        return backend
    matches = [label for label, info in infos.items() if _backend_of(info) == backend and not _is_twin(info)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(
            f"{flag} {name}: {where} has {len(matches)} {backend} configurations "
            f"({', '.join(matches)}); give one of these labels"
        )
    raise ConfigError(f"{flag} {name}: no {backend} in {where}; choose from {valid_names(infos)}")


def resolve_labels(
    names: Iterable[str], infos: Mapping[str, Any], where: str = "this session", flag: str = "--backend"
) -> list[str]:
    """`resolve_label` for each name, duplicates dropped, in the order given."""
    out: list[str] = []
    for name in names:
        label = resolve_label(name, infos, where, flag)
        if label not in out:
            out.append(label)
    return out
