"""Fast `/proc/<pid>/stat` parsing: what psutil 7 lacks (page faults) and a cheap way to scan all processes."""

from __future__ import annotations

import os
import resource
from typing import NamedTuple

from infbench.monitors.base import KeptFile, read_text, under

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class ProcStat(NamedTuple):
    """The fields of `/proc/<pid>/stat` the monitors use (CPU times in seconds, RSS in bytes).

    A NamedTuple rather than a frozen dataclass: a scan builds one per process, and it is ~2x cheaper to build.
    """

    pid: int
    name: str
    ppid: int
    minflt: int
    majflt: int
    cpu_s: float
    rss_bytes: int = 0


def parse_stat(pid: int, text: str) -> ProcStat | None:
    """Parse one stat line; None when malformed. The name may contain spaces and parentheses."""
    lpar, rpar = text.find("("), text.rfind(")")
    if lpar < 0 or rpar < lpar:
        return None
    rest = text[rpar + 2 :].split()
    # rest[0] is field 3 (state): ppid=4, minflt=10, majflt=12, utime=14, stime=15, rss=24 → index = field - 3
    try:
        return ProcStat(
            pid=pid,
            name=text[lpar + 1 : rpar],
            ppid=int(rest[1]),
            minflt=int(rest[7]),
            majflt=int(rest[9]),
            cpu_s=(int(rest[11]) + int(rest[12])) / CLK_TCK,
            rss_bytes=int(rest[21]) * PAGE_SIZE if len(rest) > 21 else 0,
        )
    except (IndexError, ValueError):
        return None


def parse_involuntary_switches(status: str) -> int | None:
    """``nonvoluntary_ctxt_switches`` from `/proc/<pid>/status` content, or None."""
    i = status.find("nonvoluntary_ctxt_switches:")
    if i < 0:
        return None
    try:
        return int(status[i + 27 :].split(None, 1)[0])
    except (IndexError, ValueError):
        return None


def read_stat(pid: int, root: str = "/") -> ProcStat | None:
    """`/proc/<pid>/stat` of one process (under `root`), or None when it is gone or unreadable."""
    text = read_text(under(root, f"/proc/{pid}/stat"))
    return None if text is None else parse_stat(pid, text)


def scan_all(root: str = "/") -> dict[int, ProcStat]:
    """Every process's stat (one small read each: ~10 µs per process)."""
    out: dict[int, ProcStat] = {}
    try:
        names = os.listdir(under(root, "/proc"))
    except OSError:
        return out
    for entry in names:
        if entry.isdigit():
            st = read_stat(int(entry), root)
            if st is not None:
                out[st.pid] = st
    return out


def _fd_budget() -> int:
    """Descriptors the scanner may keep: a quarter of the soft limit, at most 2048."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 64
    return max(0, min(2048, (soft if soft > 0 else 1024) // 4))


class ProcScanner:
    """`scan_all`, but keeping each process's stat file open between scans (one pread per process).

    A kept descriptor stays tied to the process it was opened for: once that process exits, its read fails and
    the entry is dropped, so a reused pid is opened afresh. At most `budget` descriptors are kept (default: a
    quarter of the open-files limit, ≤ 2048); processes beyond that are read with open/read/close.
    """

    def __init__(self, root: str = "/", budget: int | None = None) -> None:
        self.root = root
        self.budget = _fd_budget() if budget is None else budget
        self._files: dict[int, KeptFile] = {}

    def scan(self) -> dict[int, ProcStat]:
        """Every readable process's stat, now."""
        out: dict[int, ProcStat] = {}
        try:
            names = os.listdir(under(self.root, "/proc"))
        except OSError:
            return out
        seen: set[int] = set()
        for entry in names:
            if not entry.isdigit():
                continue
            pid = int(entry)
            seen.add(pid)
            text = self._read(pid)
            if text is None:
                continue
            st = parse_stat(pid, text)
            if st is not None:
                out[pid] = st
        for pid in [p for p in self._files if p not in seen]:
            self._files.pop(pid).close()
        return out

    def _read(self, pid: int) -> str | None:
        path = under(self.root, f"/proc/{pid}/stat")
        kept = self._files.get(pid)
        if kept is not None:
            text = kept.read()
            if text is not None:
                return text
            del self._files[pid]  # that process exited; the pid may now be another one's
            kept.close()
        if len(self._files) >= self.budget:
            return read_text(path)
        kept = self._files[pid] = KeptFile(path, 4096, reopen=False)
        text = kept.read()
        if text is None:
            del self._files[pid]
        return text

    def close(self) -> None:
        """Close every kept descriptor."""
        for kept in self._files.values():
            kept.close()
        self._files.clear()
