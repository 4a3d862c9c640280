"""Observer effect: infbench's measured median/p99 divided by a bare loop of the same call in a plain process.

For ORT, OpenVINO and torch on the built-in model (default bert-small, seq 128, one thread), an infbench engine
child (EngineHost + worker) and a bare-loop process (bench/_bare_loop.py, the backend's own API, nothing of
infbench) are both kept alive and measured alternately, A B A B …, in one run, so machine drift hits both.
Targets: ratio of medians <= 1.02, ratio of p99 <= 1.05. The ratio CIs resample rounds (a round = one infbench
turn and one bare turn; `compare_latencies(..., paired=True)`), not single calls: round-to-round drift of a few
% dominates on a shared VM, and single calls are not independent.

    .venv/bin/python bench/observer_effect.py [--model bert-small] [--rounds 6] [--turn 2]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infbench.analysis.compare import compare_latencies
from infbench.analysis.intervals import Calls
from infbench.engines.host import EngineHost
from infbench.engines.models import prepare_model
from infbench.engines.workloads import build_inputs
from infbench.plan.spec import WorkloadSpec

OPTIONS = {
    "onnxruntime": {"threads": 1, "inter_threads": 1},
    "torch": {"threads": 1},
    "openvino": {"threads": 1, "streams": 1, "hint": "latency"},
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


def main() -> int:
    """Measure every installed backend and write bench/results/observer_effect.md."""
    from infbench.engines.base import installed_backends

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bert-small")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--turn", type=float, default=2.0, help="seconds per turn")
    ap.add_argument("--backends", default="onnxruntime,openvino,torch", help="comma-separated subset")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "observer_effect.md"))
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b in installed_backends()]
    model = prepare_model(args.model, need_onnx=True, need_hf="torch" in backends, progress=print)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        feeds = build_inputs(model, WorkloadSpec(batch=1, seq=128, cycle=1)).items[0]
        feeds_path = f"{tmp}/feeds.npz"
        np.savez(feeds_path, **feeds)
        for backend in backends:
            ours_c, theirs_c = measure(backend, model, feeds_path, args.rounds, args.turn, tmp)
            # ratios infbench / bare; 95 % CIs from the paired round bootstrap
            c = compare_latencies(theirs_c, ours_c, paired=True)
            ours, theirs = ours_c.dur, theirs_c.dur
            m_ratio, p_ratio = c.median_ratio, c.p99_ratio
            ok = "yes" if m_ratio <= 1.02 and p_ratio <= 1.05 else "no"
            (mlo, mhi), (plo, phi) = c.median_ratio_ci95, c.p99_ratio_ci95
            rows.append(
                f"| {backend} | {np.median(ours) / 1e6:.2f} | {np.median(theirs) / 1e6:.2f} | "
                f"{m_ratio:.3f} [{mlo:.3f}–{mhi:.3f}] | {np.percentile(ours, 99) / 1e6:.2f} | "
                f"{np.percentile(theirs, 99) / 1e6:.2f} | {p_ratio:.3f} [{plo:.3f}–{phi:.3f}] | "
                f"{ours.size}/{theirs.size} | {ok} | {c.ci_method} |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            "## Observer effect (infbench vs a bare loop of the same call)",
            "",
            (
                f"Run {datetime.date.today()}, {platform.machine()}, Python {platform.python_version()}: "
                f"`python bench/observer_effect.py --model {args.model} --rounds {args.rounds} --turn {args.turn:g}` — "
                f"batch 1, seq 128, one thread; infbench child and bare process alternated A B A B in one run. "
                f"CIs resample rounds (one infbench turn + one bare turn), not single calls."
            ),
            "",
            (
                "| backend | infbench p50 ms | bare p50 ms | p50 ratio [95% CI] | infbench p99 ms | bare p99 ms | "
                "p99 ratio [95% CI] | calls | within target (<=1.02 / <=1.05) | CI method |"
            ),
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
