"""Time to first numbers: launch of the live TUI → the first latency figure on screen, in a real terminal.

Starts ``infbench-tui run MODEL -b ort -b ov -b torch -d 20`` (``--backends ort``: the single-ORT case, goal ≤ 1.5
s, written to first_numbers_ort.md) in a tmux pane and polls ``tmux capture-pane -p`` until a ``median <number>``
(``p50`` before the redesign) appears in any panel, and then in every panel; the clock starts just before tmux is
asked to start the command (tmux itself adds a few ms). The saved session gives the breakdown inside the run (run
start, each backend's load, warm-up end and first measured call). With ``--base DIR`` (an unchanged checkout, e.g.
``git worktree add --detach /tmp/fn_base HEAD``), the code in DIR and this checkout are measured alternately in
one run (ABAB…), each with its own PYTHONPATH, from a neutral working directory. Writes
bench/results/first_numbers.md. ``--trace`` adds one launch through bench/_launch_trace.py, which lists the
modules the TUI process imported on the way to its first number, and prices them by importing the same modules in
the same order under ``python -X importtime`` (the TUI itself draws on the terminal's stderr, where ``-X
importtime`` writes).

    .venv/bin/python bench/first_numbers.py [--base /tmp/fn_base] [--reps 5] [--model bert-small]
    .venv/bin/python bench/first_numbers.py --backends ort --reps 7 --trace
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LABEL_OF = {"ort": "onnxruntime", "ov": "openvino", "torch": "torch"}
P50 = re.compile(r"(?:p50|median) (\d+(?:\.\d+)?) ?(?:ns|µs|ms|s)\b")
POLL_S = 0.05
NOTES_MARK = "<!-- notes: kept when the bench rewrites the table -->"


def tmux(sock: str, *args: str) -> str:
    """Run one tmux command on the private server `sock`; its stdout."""
    return subprocess.run(
        ["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=20, check=False
    ).stdout


def ensure_model(model: str) -> bool:
    """Build/export `model` into the cache if it is not there yet; True when it was already cached."""
    from infbench.engines.models import prepare_model

    lines: list[str] = []
    prepare_model(model, need_onnx=True, need_hf=True, progress=lines.append)
    return not any(("building" in x or "exporting" in x) for x in lines)


def one_launch(
    root: Path,
    model: str,
    backends: tuple[str, ...],
    duration: int,
    size: tuple[int, int],
    timeout: float,
    trace: Path | None = None,
) -> dict:
    """Launch the TUI from checkout `root` in tmux; seconds to a number in any panel / in every panel.

    With `trace`, the TUI runs through bench/_launch_trace.py, which writes the modules it imported there.
    """
    work = Path(tempfile.mkdtemp(prefix="infbench-first-"))
    save = work / "run.infb"
    exe = Path(sys.executable).with_name("infbench-tui")
    prog = shlex.quote(str(exe))
    if trace is not None:
        prog = f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'bench' / '_launch_trace.py'))}"
    env = {k: os.environ[k] for k in ("INFBENCH_CACHE_DIR", "HOME", "PATH") if k in os.environ}
    env["PYTHONPATH"] = str(root)
    env["INFBENCH_DATA_DIR"] = str(work / "data")
    if trace is not None:
        env["INFBENCH_TRACE_OUT"] = str(trace)
    args = " ".join(f"-b {b}" for b in backends)
    cmd = (
        f"cd {shlex.quote(str(work))} && env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} "
        f"TERM=xterm-256color {prog} run {model} {args} -d {duration} "
        f"--save {shlex.quote(str(save))}; echo EXIT=$?; sleep 30"
    )
    sock = f"infbench-first-{os.getpid()}"
    t_wall = time.time()
    t0 = time.monotonic()
    tmux(sock, "new-session", "-d", "-s", "fn", "-x", str(size[0]), "-y", str(size[1]), cmd)
    first_any = first_all = None
    screen = ""
    try:
        while time.monotonic() - t0 < timeout:
            screen = tmux(sock, "capture-pane", "-p", "-t", "fn")
            now = time.monotonic() - t0
            n = len(P50.findall(screen))
            if n and first_any is None:
                first_any = now
            if n >= len(backends):
                first_all = now
                break
            if "EXIT=" in screen:
                break
            time.sleep(POLL_S)
        tmux(sock, "send-keys", "-t", "fn", "q")
        end = time.monotonic() + 30
        while time.monotonic() < end and "EXIT=" not in tmux(sock, "capture-pane", "-p", "-t", "fn"):
            time.sleep(0.2)
    finally:
        tmux(sock, "kill-server")
    if first_all is None:
        print(f"  no numbers in every panel within {timeout:g} s; last screen:\n{screen}", file=sys.stderr)
    res = {"any": first_any, "all": first_all}
    res.update(breakdown(save, t_wall, [LABEL_OF[b] for b in backends]))
    shutil.rmtree(work, ignore_errors=True)
    return res


def breakdown(path: Path, t_launch_wall: float, labels: list[str]) -> dict:
    """From the saved session: launch → run start (s), and per backend run start → loaded / first measured call."""
    from infbench.sessions.reader import open_session

    out: dict = {}
    try:
        data = open_session(path)
    except Exception as exc:
        print(f"  session {path} unreadable: {exc}", file=sys.stderr)
        return out
    with data:
        out["run_start"] = data.t0_wall - t_launch_wall
        infos = data.backend_infos()
        for label in labels:
            start, _ = data.samples(label, phase="measure")
            out[f"{label}.first"] = (int(start[0]) - data.t0_ns) / 1e9 if start.size else None
            info = infos.get(label)
            out[f"{label}.load_ms"] = info.load_ms if info else None
        loaded = [e for e in data.events() if e.kind == "warmup_end" and e.backend]
        for e in loaded:
            out[f"{e.backend}.warm"] = (e.t_ns - data.t0_ns) / 1e9
    return out


def fmt(values: list[float | None]) -> str:
    """Median [min–max] (n) of the values that are not None."""
    v = [x for x in values if x is not None]
    if not v:
        return "—"
    return f"{statistics.median(v):.2f} [{min(v):.2f}–{max(v):.2f}]" + (
        f" ({len(v)}/{len(values)})" if len(v) != len(values) else ""
    )


def write(
    results: dict[str, list[dict]], args: argparse.Namespace, cached: bool, load: tuple, trace: list[str]
) -> str:
    """Write the markdown result (keeping the notes below NOTES_MARK); returns the table text."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmdline = shlex.join(["python", "bench/first_numbers.py", *sys.argv[1:]])
    labels = [LABEL_OF[b] for b in args.backends]
    single = len(labels) == 1
    goal = "1.5" if single else "3"
    b_args = " ".join(f"-b {b}" for b in args.backends)
    lines = [
        "# Time to first numbers"
        + (f" — one backend ({labels[0]})" if single else "")
        + " (bench/first_numbers.py)",
        "",
        f"{when} · `{cmdline}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
        f"(1/5/15 min) before {load[0]}, after {load[1]}. `infbench-tui run {args.model} {b_args} "
        f"-d {args.duration}` in a {args.size} tmux pane, model {'cached' if cached else 'built by this run first'}"
        f"; clock from asking tmux to start the command to the first `median <number>` in any panel / in all "
        f"{len(labels)} (capture-pane polled every {POLL_S * 1000:.0f} ms). Median [min–max] of {args.reps} "
        "launches per variant"
        + (", variants alternated" if len(results) > 1 else "")
        + f". Goal: first numbers "
        f"≤ {goal} s. Breakdown from the saved session: launch → run start (the parent's imports, session file, "
        "fingerprint), then per backend run start → loaded (load ms), → warm-up end, → first measured call.",
        "",
        (
            "| variant | first number, any panel (s) | numbers in all panels (s) | launch → run start (s) | "
            f"load ms: {' · '.join(labels)} | run start → warm-up end (s) | "
            "run start → first measured call (s) |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        loads = " · ".join(fmt([r.get(f"{lab}.load_ms") for r in runs]).split(" [")[0] for lab in labels)
        warms = " · ".join(fmt([r.get(f"{lab}.warm") for r in runs]) for lab in labels)
        firsts = " · ".join(fmt([r.get(f"{lab}.first") for r in runs]) for lab in labels)
        lines.append(
            f"| {name} | {fmt([r['any'] for r in runs])} | {fmt([r['all'] for r in runs])} | "
            f"{fmt([r.get('run_start') for r in runs])} | {loads} | {warms} | {firsts} |"
        )
    table = "\n".join(lines + trace) + "\n"
    out = Path(args.out)
    notes = ""
    if out.exists() and NOTES_MARK in out.read_text():
        notes = out.read_text().split(NOTES_MARK, 1)[1]
    out.write_text(table + "\n" + NOTES_MARK + (notes or "\n"))
    return table


def import_trace(args: argparse.Namespace, size: tuple[int, int]) -> list[str]:
    """One traced launch of this checkout: the packages its TUI process imported before the first number, priced."""
    from _launch_trace import imported_before, price

    with tempfile.TemporaryDirectory(prefix="infbench-trace-") as tmp:
        trace = Path(tmp) / "imports.json"
        t_wall = time.time()
        r = one_launch(ROOT, args.model, args.backends, args.duration, size, args.timeout, trace)
        if r["any"] is None or not trace.exists():
            return ["", "Import trace: the traced launch showed no number; no trace."]
        modules = imported_before(trace, t_wall + r["any"])
    rows, module_ms = price(modules, str(ROOT))
    total = sum(ms for _, ms, _ in rows)
    out = [
        "",
        (
            f"Imports of the TUI process before its first number (one launch through bench/_launch_trace.py, first "
            f"number at {r['any']:.2f} s): {len(modules)} modules, priced by importing them in the same order in a "
            f"fresh `python -X importtime` (self times summed per top-level package, median of 3; {total:.0f} ms "
            "in all, warm file cache). The engine child's imports are not in here (its own process: load ms above)."
        ),
        "",
        "| package | import ms | modules |",
        "|---|---|---|",
    ]
    out += [f"| {top} | {ms:.0f} | {n} |" for top, ms, n in rows if ms >= 5]
    small = [r for r in rows if r[1] < 5]
    out.append(
        f"| {len(small)} others (< 5 ms each) | {sum(ms for _, ms, _ in small):.0f} | {sum(n for *_, n in small)} |"
    )
    own = sorted(((v, name) for name, v in module_ms.items() if name.startswith("infbench")), reverse=True)
    out += [
        "",
        "infbench's own modules, self ms: " + ", ".join(f"{name} {v:.1f}" for v, name in own[:10]) + ".",
    ]
    return out


def main() -> None:
    """Parse arguments, alternate the variants, write the result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--base", help="an unchanged checkout to measure alternately with this one (before/after)"
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="another checkout to measure in the same alternation (repeatable)",
    )
    ap.add_argument("--reps", type=int, default=5, help="launches per variant")
    ap.add_argument("--model", default="bert-small")
    ap.add_argument(
        "--backends", default="ort,ov,torch", help="comma list of ort, ov, torch (the -b arguments)"
    )
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--size", default="200x50", help="tmux pane columns x rows")
    ap.add_argument(
        "--timeout", type=float, default=90.0, help="give up on one launch after this many seconds"
    )
    ap.add_argument(
        "--trace", action="store_true", help="add a priced list of the imports before the first number"
    )
    ap.add_argument(
        "--out", help="result file (default results/first_numbers.md, _ort.md for --backends ort)"
    )
    args = ap.parse_args()
    args.backends = tuple(args.backends.split(","))
    if not set(args.backends) <= set(LABEL_OF):
        ap.error(f"--backends: choose from {', '.join(LABEL_OF)}")
    if args.out is None:
        args.out = RESULTS / (
            "first_numbers.md" if len(args.backends) > 1 else f"first_numbers_{args.backends[0]}.md"
        )
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed: apt-get install tmux")
    size = tuple(int(x) for x in args.size.split("x"))
    cached = ensure_model(args.model)
    variants = {"before (" + args.base + ")": Path(args.base)} if args.base else {}
    for item in args.variant:
        name, _, path = item.partition("=")
        variants[f"{name} ({path})"] = Path(path)
    variants["after (this checkout)"] = ROOT
    results: dict[str, list[dict]] = {name: [] for name in variants}
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    for rep in range(args.reps):
        for name, root in variants.items():
            r = one_launch(root, args.model, args.backends, args.duration, size, args.timeout)  # type: ignore[arg-type]
            results[name].append(r)
            print(
                f"rep {rep + 1} {name}: any {r['any']}, all {r['all']}, run start {r.get('run_start')}",
                flush=True,
            )
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    trace = import_trace(args, size) if args.trace else []  # type: ignore[arg-type]
    print(write(results, args, cached, (load_before, load_after), trace))


if __name__ == "__main__":
    main()
