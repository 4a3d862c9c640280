"""Time to first numbers: launch of the live TUI → the first latency figure on screen, in a real terminal.

Starts ``infbench-tui run MODEL -b ort -b ov -b torch -d 20`` in a tmux pane and polls ``tmux capture-pane -p``
until a ``p50 <number>`` appears in any panel, and then in every panel; the clock starts just before tmux is asked
to start the command (tmux itself adds a few ms). The saved session gives the breakdown inside the run (run start,
each backend's load, warm-up end and first measured call). With ``--base DIR`` (an unchanged checkout, e.g.
``git worktree add --detach /tmp/fn_base HEAD``), the code in DIR and this checkout are measured alternately in
one run (ABAB…), each with its own PYTHONPATH, from a neutral working directory. Writes
bench/results/first_numbers.md.

    .venv/bin/python bench/first_numbers.py [--base /tmp/fn_base] [--reps 5] [--model bert-small]
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
OUT = ROOT / "bench" / "results" / "first_numbers.md"
BACKENDS = ("ort", "ov", "torch")
LABELS = ("onnxruntime", "openvino", "torch")
P50 = re.compile(r"p50 (\d+(?:\.\d+)?) ?(?:µs|ms|s)\b")
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


def one_launch(root: Path, model: str, duration: int, size: tuple[int, int], timeout: float) -> dict:
    """Launch the TUI from checkout `root` in tmux; seconds to a number in any panel / in every panel."""
    work = Path(tempfile.mkdtemp(prefix="infbench-first-"))
    save = work / "run.infb"
    exe = Path(sys.executable).with_name("infbench-tui")
    env = {k: os.environ[k] for k in ("INFBENCH_CACHE_DIR", "HOME", "PATH") if k in os.environ}
    env["PYTHONPATH"] = str(root)
    env["INFBENCH_DATA_DIR"] = str(work / "data")
    args = " ".join(f"-b {b}" for b in BACKENDS)
    cmd = (
        f"cd {shlex.quote(str(work))} && env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} "
        f"TERM=xterm-256color {shlex.quote(str(exe))} run {model} {args} -d {duration} "
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
            if n >= len(BACKENDS):
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
    res.update(breakdown(save, t_wall))
    shutil.rmtree(work, ignore_errors=True)
    return res


def breakdown(path: Path, t_launch_wall: float) -> dict:
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
        for label in LABELS:
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


def write(results: dict[str, list[dict]], args: argparse.Namespace, cached: bool, load: tuple) -> str:
    """Write the markdown result (keeping the notes below NOTES_MARK); returns the table text."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmdline = shlex.join(["python", "bench/first_numbers.py", *sys.argv[1:]])
    lines = [
        "# Time to first numbers (bench/first_numbers.py)",
        "",
        f"{when} · `{cmdline}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
        f"(1/5/15 min) before {load[0]}, after {load[1]}. `infbench-tui run {args.model} -b ort -b ov -b torch "
        f"-d {args.duration}` in a {args.size} tmux pane, model {'cached' if cached else 'built by this run first'}"
        f"; clock from asking tmux to start the command to the first `p50 <number>` in any panel / in all three "
        f"(capture-pane polled every {POLL_S * 1000:.0f} ms). Median [min–max] of {args.reps} launches per "
        "variant" + (", variants alternated" if len(results) > 1 else "") + ". Goal: first numbers ≤ 3 s.",
        "",
        (
            "| variant | first number, any panel (s) | numbers in all panels (s) | launch → run start (s) | "
            "run start → first measured call: onnxruntime · openvino · torch (s) | load ms: ort · ov · torch |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        firsts = " · ".join(fmt([r.get(f"{lab}.first") for r in runs]) for lab in LABELS)
        loads = " · ".join(fmt([r.get(f"{lab}.load_ms") for r in runs]).split(" [")[0] for lab in LABELS)
        lines.append(
            f"| {name} | {fmt([r['any'] for r in runs])} | {fmt([r['all'] for r in runs])} | "
            f"{fmt([r.get('run_start') for r in runs])} | {firsts} | {loads} |"
        )
    table = "\n".join(lines) + "\n"
    notes = ""
    if OUT.exists() and NOTES_MARK in OUT.read_text():
        notes = OUT.read_text().split(NOTES_MARK, 1)[1]
    OUT.write_text(table + "\n" + NOTES_MARK + (notes or "\n"))
    return table


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
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--size", default="200x50", help="tmux pane columns x rows")
    ap.add_argument(
        "--timeout", type=float, default=90.0, help="give up on one launch after this many seconds"
    )
    args = ap.parse_args()
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
            r = one_launch(root, args.model, args.duration, size, args.timeout)  # type: ignore[arg-type]
            results[name].append(r)
            print(
                f"rep {rep + 1} {name}: any {r['any']}, all {r['all']}, run start {r.get('run_start')}",
                flush=True,
            )
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(write(results, args, cached, (load_before, load_after)))


if __name__ == "__main__":
    main()
