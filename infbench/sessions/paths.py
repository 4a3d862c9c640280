"""Where sessions are saved by default: a timestamped file under the user's data dir."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

SUFFIX = ".infb"


def sessions_dir() -> Path:
    """$INFBENCH_DATA_DIR, else $XDG_DATA_HOME/infbench/sessions, else ~/.local/share/infbench/sessions."""
    if os.environ.get("INFBENCH_DATA_DIR"):
        return Path(os.environ["INFBENCH_DATA_DIR"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "infbench" / "sessions"


def default_session_path(model: str, when: float | None = None) -> Path:
    """``<sessions dir>/YYYYmmdd-HHMMSS-<model>.infb`` (model reduced to safe characters; unique if taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name or "run").strip("._") or "run"
    base = sessions_dir() / f"{stamp}-{name[:60]}"
    path, n = base.with_name(base.name + SUFFIX), 2
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}{SUFFIX}"), n + 1
    return path
