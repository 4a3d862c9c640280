"""Call-path parity with the backends' own tools: infbench's median per call / the tool's, in one alternated run.

- OpenVINO: infbench's engine child (``openvino:threads=1,streams=1,hint=latency,precision=P``, default
  ``io=bound``) vs ``benchmark_app -api sync -hint none -nstreams 1 -nthreads 1 -pin YES -infer_precision P
  -data_shape … -i name:file.npy …`` on the same ONNX file, model kept dynamic as infbench compiles it (``-shape``
  would make it static: a different, faster compile) and fed the same arrays, for P in f32 and bf16.
  benchmark_app reports only its summary, so a round is one infbench turn and one benchmark_app process of the
  same length; the ratio is the median of the per-round ratios of medians, with their range (min–max over rounds).
- ONNX Runtime: infbench's engine child (``onnxruntime:threads=1,inter_threads=1``, default ``io=bound``) vs a bare
  IOBinding loop (onnxruntime_perf_test's ``-I`` way: inputs bound once, outputs on CPU; bench/_bare_loop.py), kept
  alive and alternated A B A B; ratio of medians with the paired round-bootstrap CI.

benchmark_app's median is ``request.latency``, the time inside the C++ ``infer``; infbench (like any Python
program) times the whole Python call. The table adds that difference, measured in process with the same compile
configuration (median of call span ÷ ``request.latency``), and the ratio net of it: what infbench adds beyond
the binding's own call.

Goal (issue 15 §8): within 2 % (ratios 0.98–1.02). Prints a Markdown block for BENCHMARKS.md.

    .venv/bin/python bench/tool_parity.py [--model bert-small] [--rounds 8] [--turn 3] [--seq 128]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
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

_MEDIAN = re.compile(r"Median:\s+([0-9.]+)\s+(ms|us)")


def _benchmark_app(onnx: str, shape: str, inputs: list[str], precision: str, seconds: float) -> float:
    """One benchmark_app process on the given ``name:file.npy`` inputs; its median latency in ms."""
    exe = shutil.which("benchmark_app", path=str(Path(sys.executable).parent)) or shutil.which(
        "benchmark_app"
    )
    if exe is None:
        raise SystemExit("benchmark_app not found (it ships with the openvino package)")
    cmd = [exe, "-m", onnx, "-d", "CPU", "-api", "sync", "-hint", "none", "-nstreams", "1", "-nthreads", "1"]
    cmd += ["-pin", "YES", "-infer_precision", precision, "-data_shape", shape, "-t", str(int(seconds))]
    cmd += ["-i", *inputs]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    found = _MEDIAN.findall(out)
    if not found:
        raise SystemExit(f"no median in benchmark_app's output:\n{out[-2000:]}")
    value, unit = found[-1]
    return float(value) / (1000.0 if unit == "us" else 1.0)


def binding_share(model, items, precision: str, calls: int = 1500) -> float:
    """Median of (Python call span ÷ ``request.latency``) for OpenVINO's bound-tensor sync infer, in process.

    benchmark_app reports ``request.latency``: the C++ time inside ``infer`` — not the Python call around it
    (argument handling, GIL release and re-acquire, the outputs' dict). infbench times the call a Python program
    makes. This ratio is that difference alone, measured with the engine's own compile configuration.
    """
    import openvino as ov
    from openvino._pyopenvino import InferRequest as Base

    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    config["INFERENCE_PRECISION_HINT"] = precision
    req = core.compile_model(core.read_model(model.onnx_path), "CPU", config).create_infer_request()
    arrays = {}
    for i, port in enumerate(req.model_inputs):
        arrays[i] = np.array(items[0][port.get_any_name()], copy=True, order="C")
        req.set_input_tensor(i, ov.Tensor(arrays[i], shared_memory=True))
    spans, inner = [], []
    pc = time.perf_counter_ns
    for n in range(calls + 50):
        s = pc()
        Base.infer(req, {}, True, True)
        e = pc()
        if n >= 50:
            spans.append((e - s) / 1e6)
            inner.append(req.latency)
    return float(np.median(np.array(spans) / np.array(inner)))


def openvino_rows(model, items, rounds: int, turn: float, seq: int, tmp: str) -> list[str]:
    """infbench's OpenVINO child vs benchmark_app (fed the same arrays, as .npy), at f32 and bf16."""
    names = [i.name for i in model.inputs]
    shape = ",".join(f"{n}[1,{seq}]" for n in names)
    inputs = []
    for name in names:
        np.save(f"{tmp}/{name}.npy", items[0][name])
        inputs.append(f"{name}:{tmp}/{name}.npy")
    rows = []
    for precision in ("f32", "bf16"):
        options = {"threads": 1, "streams": 1, "hint": "latency", "precision": precision}
        blocks: list = []
        host = EngineHost("openvino", "openvino", options, model, items, blocks.append, lambda e: None)
        host.start()
        host.run_turn("warmup", calls=20)
        ratios, ours, theirs = [], [], []
        try:
            for r in range(rounds):
                order = ("infbench", "tool") if r % 2 == 0 else ("tool", "infbench")
                med_ours = med_tool = 0.0
                for who in order:
                    if who == "infbench":
                        blocks.clear()
                        host.run_turn("measure", seconds=turn)
                        med_ours = float(np.median(np.concatenate([b.dur_ns for b in blocks]))) / 1e6
                    else:
                        med_tool = _benchmark_app(model.onnx_path, shape, inputs, precision, turn)
                ours.append(med_ours)
                theirs.append(med_tool)
                ratios.append(med_ours / med_tool)
                print(
                    f"  openvino {precision} round {r}: infbench {med_ours:.3f} ms, benchmark_app "
                    f"{med_tool:.3f} ms, ratio {ratios[-1]:.3f}",
                    flush=True,
                )
        finally:
            host.stop()
        q = np.median(ratios)
        ok = "yes" if 0.98 <= q <= 1.02 else "no"
        share = binding_share(model, items, precision)
        rows.append(
            f"| openvino {precision} (io=bound) | benchmark_app -api sync -hint none -nstreams 1 -nthreads 1 | "
            f"{np.median(ours):.3f} | {np.median(theirs):.3f} | {q:.3f} [{min(ratios):.3f}–{max(ratios):.3f}] "
            f"| {rounds} | {ok} | {share:.3f} | {q / share:.3f} |"
        )
    return rows


def onnxruntime_row(model, items, feeds_path: str, rounds: int, turn: float, tmp: str) -> str:
    """infbench's ORT child (io=bound) vs a bare IOBinding loop, alternated."""
    blocks: list = []
    options = {"threads": 1, "inter_threads": 1}
    host = EngineHost("onnxruntime", "onnxruntime", options, model, items, blocks.append, lambda e: None)
    host.start()
    bare = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "_bare_loop.py"),
            "onnxruntime-iobinding",
            model.onnx_path,
            "",
            feeds_path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert bare.stdout is not None and bare.stdin is not None
    assert bare.stdout.readline().strip() == "ready"
    host.run_turn("warmup", calls=20)
    ours, theirs = [], []
    try:
        for r in range(rounds):
            for who in ("infbench", "bare") if r % 2 == 0 else ("bare", "infbench"):
                if who == "infbench":
                    blocks.clear()
                    host.run_turn("measure", seconds=turn)
                    ours.append(np.concatenate([b.dur_ns for b in blocks]))
                else:
                    out = f"{tmp}/bare-{r}.npy"
                    bare.stdin.write(f"run {turn} {out}\n")
                    bare.stdin.flush()
                    assert bare.stdout.readline().strip() == "done"
                    theirs.append(np.load(out))
    finally:
        bare.stdin.write("quit\n")
        bare.stdin.flush()
        bare.wait(10)
        host.stop()

    def calls(turns: list[np.ndarray]) -> Calls:
        return Calls(np.concatenate(turns), np.repeat(np.arange(len(turns)), [t.size for t in turns]))

    c = compare_latencies(calls(theirs), calls(ours), paired=True)
    lo, hi = c.median_ratio_ci95
    ok = "yes" if 0.98 <= c.median_ratio <= 1.02 else "no"
    return (
        f"| onnxruntime (io=bound) | bare IOBinding loop (onnxruntime_perf_test -I style) | "
        f"{np.median(np.concatenate(ours)) / 1e6:.3f} | {np.median(np.concatenate(theirs)) / 1e6:.3f} | "
        f"{c.median_ratio:.3f} [{lo:.3f}–{hi:.3f}] | {rounds} | {ok} | — | {c.median_ratio:.3f} |"
    )


def main() -> None:
    """Run both comparisons and print the Markdown block."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bert-small")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--turn", type=float, default=3.0, help="seconds per turn (benchmark_app: whole seconds)")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--only", choices=("openvino", "onnxruntime"), help="run one of the two comparisons")
    args = ap.parse_args()
    model = prepare_model(args.model, need_onnx=True, need_hf=False)
    items = build_inputs(model, WorkloadSpec(batch=1, seq=args.seq, cycle=1)).items
    with tempfile.TemporaryDirectory() as tmp:
        feeds_path = f"{tmp}/feeds.npz"
        np.savez(feeds_path, **items[0])
        rows = (
            []
            if args.only == "onnxruntime"
            else openvino_rows(model, items, args.rounds, args.turn, args.seq, tmp)
        )
        if args.only != "openvino":
            rows.append(onnxruntime_row(model, items, feeds_path, args.rounds, args.turn, tmp))
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n### Call-path parity with the backends' tools ({when}, {platform.node()})\n")
    print(
        f"`.venv/bin/python bench/tool_parity.py --model {args.model} --rounds {args.rounds} --turn {args.turn}`"
        f" — {args.model}, batch 1, seq {args.seq}, 1 thread, alternated rounds.\n"
    )
    print(
        "| infbench variant | tool | infbench median ms | tool median ms | ratio [range or 95 % CI] | rounds "
        "| within 2 % | Python call ÷ backend's own latency | ratio net of that |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
