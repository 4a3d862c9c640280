"""Run ``infbench-tui`` while noting when each module is first imported (for bench/first_numbers.py --trace).

``python bench/_launch_trace.py run MODEL …`` behaves as ``infbench-tui run MODEL …``; an audit hook notes the
time (wall clock) of every ``import`` event and, at exit, writes ``{"t0_wall": …, "imports": [[t_wall, name], …]}``
to $INFBENCH_TRACE_OUT. The cost is one dictionary lookup per import statement.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

_SEEN: dict[str, float] = {}
_T0 = time.time()


def _hook(event: str, args: tuple) -> None:
    if event == "import" and args[0] not in _SEEN:
        _SEEN[args[0]] = time.time()


def _dump() -> None:
    out = os.environ.get("INFBENCH_TRACE_OUT")
    if out:
        imported = [[t, name] for name, t in _SEEN.items() if name in sys.modules]
        with open(out, "w") as f:
            json.dump({"t0_wall": _T0, "imports": imported}, f)


def imported_before(trace: Path, t_wall: float) -> list[str]:
    """Modules the traced process imported before wall time `t_wall`, in import order."""
    data = json.loads(trace.read_text())
    return [name for t, name in sorted(data["imports"]) if t <= t_wall]


_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| \s*(\S+)")


def price(modules: list[str], pythonpath: str, repeats: int = 3) -> tuple[list[tuple[str, float, int]], dict]:
    """Import `modules` in this order in a fresh `python -X importtime`, `repeats` times.

    Returns (top-level package, median ms, modules) rows, most expensive first, and the median self ms of each
    module. The milliseconds of a package are the self times of its own modules, wherever they were imported
    from, so each package is priced once even when another one pulled it in.
    """
    names = [m for m in modules if all(part.isidentifier() for part in m.split("."))]
    code = "\n".join(f"try:\n    import {m}\nexcept Exception:\n    pass" for m in names)
    env = dict(os.environ, PYTHONPATH=pythonpath)
    per_module: dict[str, list[float]] = {}
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        for line in proc.stderr.splitlines():
            m = _LINE.match(line)
            if m:
                per_module.setdefault(m.group(3), []).append(int(m.group(1)) / 1000)
    module_ms = {name: statistics.median(v) for name, v in per_module.items()}
    ms: dict[str, float] = {}
    count: dict[str, int] = {}
    for name, v in module_ms.items():
        top = name.split(".")[0]
        ms[top] = ms.get(top, 0.0) + v
        count[top] = count.get(top, 0) + 1
    rows = sorted(((top, v, count[top]) for top, v in ms.items()), key=lambda r: -r[1])
    return rows, module_ms


if __name__ == "__main__":
    sys.addaudithook(_hook)
    atexit.register(_dump)
    from infbench.cli import main

    sys.argv[0] = "infbench-tui"
    raise SystemExit(main())
