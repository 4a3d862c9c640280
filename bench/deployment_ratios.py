"""Deployment ratios from one interleaved run: Optimum wrapper overhead (ORT and OpenVINO) and the INT8 speed-up.

Runs ``infbench-tui run MODEL --headless`` once with the direct engines, their Optimum wrappers and the INT8
variants, all interleaved (A B C … per round, so machine drift hits every variant alike), then prints the ratios
the report computed — wrapper ÷ direct (ratio of medians, 95 % CI, the direct engine's io) and fp32 ÷ INT8
(speed-up vs the fp32 variant of the same engine, 95 % CI, label agreement) — as a Markdown block for BENCHMARKS.md.

    .venv/bin/python bench/deployment_ratios.py [--model bert-small] [--seq 128] [--duration 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = (
    "onnxruntime",
    "optimum-ort",
    "openvino",
    "optimum-ov",
    "onnxruntime:quant=int8",
    "openvino:quant=int8",
)


def main() -> None:
    """One interleaved run, then the wrapper and INT8 ratio tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bert-small")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds per variant")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [str(Path(sys.executable).parent / "infbench-tui"), "run", args.model, "--headless"]
        for v in VARIANTS:
            cmd += ["-b", v]
        cmd += ["--threads", str(args.threads), "--seq", str(args.seq), "-d", str(args.duration)]
        cmd += ["--warmup", "20", "--save", str(Path(tmp) / "run.infb"), "--json", str(out)]
        print("$", " ".join(cmd[1:]), flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, check=False)
        if proc.returncode not in (
            0,
            1,
        ):  # 1: a variant degraded (INT8 below --min-agreement): still a result
            raise SystemExit(f"infbench-tui exited {proc.returncode}")
        report = json.loads(out.read_text())
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n### Deployment ratios, one interleaved run ({when}, {platform.node()})\n")
    print(
        f"`.venv/bin/python bench/deployment_ratios.py --model {args.model} --seq {args.seq} "
        f"--duration {args.duration} --threads {args.threads}` — batch 1, {args.threads} thread(s), "
        f"{args.duration:g} s measured per variant, interleaved.\n"
    )
    print(
        "| wrapper / direct | direct io | median ms (wrapper / direct) | ratio of medians [95 % CI] | p99 ratio |"
    )
    print("|---|---|---|---|---|")
    for w in report.get("wrapper_overhead") or []:
        lo, hi = w["median_ratio_ci95"]
        print(
            f"| {w['wrapper']} / {w['direct']} | {w['io'] or '—'} | {w['wrapper_median_ms']:.3f} / "
            f"{w['direct_median_ms']:.3f} | ×{w['median_ratio']:.3f} [{lo:.3f}–{hi:.3f}] | ×{w['p99_ratio']:.3f} |"
        )
    print(
        "\n| INT8 variant | vs | speed-up (fp32 median ÷ INT8) [95 % CI] | size on disk MB | label agreement |"
    )
    print("|---|---|---|---|---|")
    for label, v in report["backends"].items():
        s = v.get("speedup")
        if not s:
            continue
        parity = v.get("parity") or {}
        agree = parity.get("agreement")
        lo, hi = s["ci95"]
        size = v.get("model_file_mb")
        print(
            f"| {label} | {s['reference']} | ×{s['ratio']:.2f} [{lo:.2f}–{hi:.2f}] | "
            f"{size:.1f} | {'—' if agree is None else f'{100 * agree:.1f} %'} |"
            if size is not None
            else f"| {label} | {s['reference']} | ×{s['ratio']:.2f} [{lo:.2f}–{hi:.2f}] | — | "
            f"{'—' if agree is None else f'{100 * agree:.1f} %'} |"
        )


if __name__ == "__main__":
    main()
