"""Observer effect: infbench's measured median/p99 divided by a bare loop of the same call in a plain process.

For ORT, OpenVINO and torch on the built-in model (default bert-small, seq 128, one thread), an infbench engine
child (EngineHost + worker) and a bare-loop process (bench/_bare_loop.py, the backend's own API, nothing of
infbench) are both kept alive and measured alternately, A B A B …, in one run, so machine drift hits both.
Targets: ratio of medians <= 1.02, ratio of p99 <= 1.05. The ratio CIs resample rounds (a round = one infbench
turn and one bare turn; `compare_latencies(..., paired=True)`), not single calls: round-to-round drift of a few
% dominates on a shared VM, and single calls are not independent.

The whole-program arms (``--arms process``): the real ``infbench-tui run MODEL -b ort`` live in a tmux pane,
the same run ``--headless``, and a bare ONNX Runtime loop, one fresh process each per turn, A B C rotated per
round; at 1 thread (the target) and at ORT's default threads (every core: information). See bench/_process_arms.py.

    .venv/bin/python bench/observer_effect.py [--model bert-small] [--arms child,process] [--rounds 6] [--turn 2]
        [--process-rounds 8] [--process-turn 5] [--process-threads 1,default]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _process_arms import ArmConfig, run_rounds

from infbench.analysis.compare import compare_latencies
from infbench.analysis.intervals import Calls
from infbench.engines.host import EngineHost
from infbench.engines.models import prepare_model
from infbench.engines.workloads import build_inputs
from infbench.plan.spec import WorkloadSpec

# io=copy: the same call as the bare loop (session.run / request.infer with numpy inputs), so the ratio is the
# harness's overhead alone; infbench's default io=bound binds inputs once and is faster than that bare call.
OPTIONS = {
    "onnxruntime": {"threads": 1, "inter_threads": 1, "io": "copy"},
    "torch": {"threads": 1},
    "openvino": {"threads": 1, "streams": 1, "hint": "latency", "io": "copy"},
}


def measure(
    backend: str, model, feeds_path: str, rounds: int, turn_s: float, tmp: str
) -> tuple[Calls, Calls]:
    """Alternate infbench and bare-loop turns; return (infbench calls, bare calls) in ns with the round of each."""
    items = build_inputs(model, WorkloadSpec(batch=1, seq=128, cycle=1)).items
    blocks: list = []
    host = EngineHost(backend, backend, OPTIONS[backend], model, items, blocks.append, lambda e: None)
    host.start()
    bare = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "_bare_loop.py"),
            backend,
            model.onnx_path or "",
            model.hf_dir or "",
            feeds_path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert bare.stdout.readline().strip() == "ready"
    host.run_turn("warmup", calls=5)
    ours, theirs = [], []
    try:
        for r in range(rounds):
            order = ("infbench", "bare") if r % 2 == 0 else ("bare", "infbench")
            for who in order:
                if who == "infbench":
                    blocks.clear()
                    host.run_turn("measure", seconds=turn_s)
                    ours.append(np.concatenate([b.dur_ns for b in blocks]))
                else:
                    out = f"{tmp}/bare-{backend}-{r}.npy"
                    bare.stdin.write(f"run {turn_s} {out}\n")
                    bare.stdin.flush()
                    assert bare.stdout.readline().strip() == "done"
                    theirs.append(np.load(out))
    finally:
        bare.stdin.write("quit\n")
        bare.stdin.flush()
        bare.wait(10)
        host.stop()
    return _with_rounds(ours), _with_rounds(theirs)


def _with_rounds(turns: list[np.ndarray]) -> Calls:
    return Calls(np.concatenate(turns), np.repeat(np.arange(len(turns)), [t.size for t in turns]))


def child_arms(args: argparse.Namespace, model, feeds_path: str, tmp: str) -> list[str]:
    """The engine-child arms: one table row per installed backend (infbench child vs a kept-alive bare loop)."""
    from infbench.engines.registry import installed_backends

    rows = []
    for backend in [b for b in args.backends.split(",") if b in installed_backends()]:
        ours_c, theirs_c = measure(backend, model, feeds_path, args.rounds, args.turn, tmp)
        # ratios infbench / bare; 95 % CIs from the paired round bootstrap
        c = compare_latencies(theirs_c, ours_c, paired=True)
        rows.append(_row(backend, ours_c.dur, theirs_c.dur, c))
        print(rows[-1], flush=True)
    return rows


def _row(name: str, ours: np.ndarray, theirs: np.ndarray, c) -> str:
    (mlo, mhi), (plo, phi) = c.median_ratio_ci95, c.p99_ratio_ci95
    ok = "yes" if c.median_ratio <= 1.02 and c.p99_ratio <= 1.05 else "no"
    return (
        f"| {name} | {np.median(ours) / 1e6:.2f} | {np.median(theirs) / 1e6:.2f} | "
        f"{c.median_ratio:.3f} [{mlo:.3f}–{mhi:.3f}] | {np.percentile(ours, 99) / 1e6:.2f} | "
        f"{np.percentile(theirs, 99) / 1e6:.2f} | {c.p99_ratio:.3f} [{plo:.3f}–{phi:.3f}] | "
        f"{ours.size}/{theirs.size} | {ok} | {c.ci_method} |"
    )


def process_arms(args: argparse.Namespace, model, feeds_path: str) -> list[str]:
    """Live TUI, headless run and a fresh bare loop, A B C rotated per round, for each --process-threads value."""
    rows = []
    size = tuple(int(x) for x in args.size.split("x"))
    for setting in args.process_threads.split(","):
        threads = None if setting == "default" else int(setting)
        cfg = ArmConfig(args.model, threads, args.process_turn, size)  # type: ignore[arg-type]
        print(f"whole-program arms, threads {setting}:", flush=True)
        turns = run_rounds(cfg, args.process_rounds, model.onnx_path, feeds_path)
        bare = _with_rounds(turns["bare"])
        # every turn is a fresh process, so resampling rounds already holds the between-process spread
        for arm in ("live", "headless"):
            ours = _with_rounds(turns[arm])
            c = compare_latencies(bare, ours, paired=True, process_sd=0.0)
            label = (
                f"{arm} / bare, {'default threads (every core)' if threads is None else f'{threads} thread'}"
            )
            rows.append(_row(label, ours.dur, bare.dur, c))
            print(rows[-1], flush=True)
    return rows


HEADER = (
    "| {what} | infbench p50 ms | bare p50 ms | p50 ratio [95% CI] | infbench p99 ms | bare p99 ms | "
    "p99 ratio [95% CI] | calls | within target (<=1.02 / <=1.05) | CI method |"
)


def main() -> int:
    """Measure the chosen arms and write bench/results/observer_effect.md."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bert-small")
    ap.add_argument("--arms", default="child,process", help="child (engine-child arms), process (live TUI)")
    ap.add_argument("--rounds", type=int, default=6, help="rounds of the engine-child arms")
    ap.add_argument("--turn", type=float, default=2.0, help="seconds per turn of the engine-child arms")
    ap.add_argument("--backends", default="onnxruntime,openvino,torch", help="engine-child arms: a subset")
    ap.add_argument("--process-rounds", type=int, default=8, help="rounds of live / headless / bare")
    ap.add_argument(
        "--process-turn", type=float, default=5.0, help="measured seconds of one whole-program turn"
    )
    ap.add_argument("--process-threads", default="1,default", help="comma list: counts and/or `default`")
    ap.add_argument("--size", default="120x40", help="tmux pane of the live TUI, columns x rows")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "observer_effect.md"))
    args = ap.parse_args()
    arms = set(args.arms.split(","))
    if not arms <= {"child", "process"}:
        ap.error("--arms: choose from child, process")
    if "process" in arms and shutil.which("tmux") is None:
        ap.error("the live TUI arm needs tmux: apt-get install tmux")
    need_hf = "child" in arms and "torch" in args.backends.split(",")
    model = prepare_model(args.model, need_onnx=True, need_hf=need_hf, progress=print)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        feeds = build_inputs(model, WorkloadSpec(batch=1, seq=128, cycle=1)).items[0]
        feeds_path = f"{tmp}/feeds.npz"
        np.savez(feeds_path, **feeds)
        child_rows = child_arms(args, model, feeds_path, tmp) if "child" in arms else []
        process_rows = process_arms(args, model, feeds_path) if "process" in arms else []
    load = " / ".join(f"{x:.2f}" for x in load_before), " / ".join(f"{x:.2f}" for x in os.getloadavg())
    cmd = shlex.join(["python", "bench/observer_effect.py", *sys.argv[1:]])
    lines = [
        "## Observer effect (infbench vs a bare loop of the same call)",
        "",
        (
            f"Run {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}: `{cmd}` — model {args.model}, batch 1, seq 128; load average (1/5/15 "
            f"min) before {load[0]}, after {load[1]}."
        ),
        "",
    ]
    if child_rows:
        lines += [
            (
                f"**Engine child** (EngineHost + worker, one thread) and a kept-alive bare loop, alternated A B A B "
                f"in {args.rounds} rounds of {args.turn:g} s turns. CIs resample rounds (one infbench turn + one bare "
                "turn), not single calls, plus the between-process spread (two processes)."
            ),
            "",
            HEADER.format(what="backend"),
            "|---|---|---|---|---|---|---|---|---|---|",
            *child_rows,
            "",
        ]
    if process_rows:
        lines += [
            (
                f"**Whole program**: `infbench-tui {' '.join(ArmConfig(args.model, 1, args.process_turn).cli_args())}"
                f" --save …` live in a {args.size} tmux pane (the TUI redrawing while it measures), the same with "
                "`--headless`, and a bare ONNX Runtime loop (bench/_bare_loop.py), each a fresh process per turn, "
                f"A B C with the order rotated each round, {args.process_rounds} rounds of {args.process_turn:g} s "
                "measured. Infbench's durations are the measure-phase samples of the saved session. Each round holds "
                "one fresh process of each arm, so the round bootstrap covers the between-process spread. Target "
                "at 1 thread: live / bare ≤ 1.02 (median) and ≤ 1.05 (p99); at the default threads (every core) "
                "the rows are information: the UI, the monitors and the OS compete with the engine for the cores."
            ),
            "",
            HEADER.format(what="arm"),
            "|---|---|---|---|---|---|---|---|---|---|",
            *process_rows,
            "",
        ]
    text = "\n".join(lines)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
