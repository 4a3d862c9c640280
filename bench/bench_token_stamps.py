"""Per-token timing: what stamping each token costs, and infbench's token clock vs OpenVINO GenAI's PerfMetrics.

Overhead (issue 16, goal <= 2 %): transformers `generate` on the built-in model with infbench's `TokenClock` as
its streamer (one ``perf_counter_ns`` per decoding step: what the torch engine runs) vs the same `generate`
without a streamer, in one process, alternated A B A B (the arm that starts swaps each round) so machine drift
hits both. Tokens/s = batch × new tokens / call time; the ratio's 95 % CI resamples rounds
(`compare_latencies(..., paired=True)`).

GenAI clock (``--genai``): the ov-genai engine (in process) with each of its token clocks; per call infbench's
TTFT (first stamp − call start) and time per output token (mean gap) vs GenAI's own
``perf_metrics.get_ttft().mean`` / ``get_tpot().mean`` for that very call; median and p10–p90 of the ratio.

    .venv/bin/python bench/bench_token_stamps.py [--model gpt2-small] [--prompt-len 128] [--new-tokens 64]
        [--batch 1] [--rounds 8] [--calls 3] [--threads 1] [--genai] [--genai-calls 20]
        [--out bench/results/token_stamps.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infbench.analysis.compare import compare_latencies
from infbench.analysis.intervals import Calls
from infbench.engines._tokenclock import TokenClock
from infbench.engines.models import prepare_model


def _prompts(batch: int, prompt_len: int, vocab: int) -> dict[str, np.ndarray]:
    ids = np.random.default_rng(0).integers(0, vocab - 1, (batch, prompt_len)).astype(np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}


def overhead(args: argparse.Namespace, hf_dir: str, feeds: dict[str, np.ndarray]) -> tuple[Calls, Calls, int]:
    """Alternate stamped and bare `generate` turns; (stamped, bare) call durations in ns with their rounds."""
    import torch

    from infbench.engines._modelcache import load_hf_model

    torch.set_num_threads(args.threads)
    model = load_hf_model(hf_dir, "causal-lm")
    x = {k: torch.from_numpy(v) for k, v in feeds.items()}
    n = args.new_tokens
    kw: dict[str, Any] = dict(
        max_new_tokens=n, min_new_tokens=n, do_sample=False, use_cache=True, pad_token_id=0
    )
    clock = TokenClock()

    def call(stamped: bool) -> int:
        t = time.perf_counter_ns()
        with torch.inference_mode():
            model.generate(**x, **kw, streamer=clock if stamped else None)
        d = time.perf_counter_ns() - t
        if stamped:
            assert clock.take().size == n  # one stamp per step, or the comparison means nothing
        return d

    for stamped in (True, False):  # warm-up of each arm
        call(stamped)
    arms: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for r in range(args.rounds):
        for stamped in (True, False) if r % 2 == 0 else (False, True):
            arms[stamped].append(np.array([call(stamped) for _ in range(args.calls)], dtype=np.int64))
        print(f"round {r + 1}/{args.rounds}", flush=True)
    return _calls(arms[True]), _calls(arms[False]), args.batch * n


def stamp_cost_ns(batch: int, reps: int = 200_000) -> float:
    """What stamping adds per decoding step, measured in a tight loop: the ``.cpu()`` transformers makes of the
    step's tokens for a streamer plus `TokenClock.put` (median ns of 5 runs)."""
    import torch

    clock = TokenClock(skip_prompt=False)
    tokens = torch.zeros(batch, dtype=torch.int64)
    runs = []
    for _ in range(5):
        t = time.perf_counter_ns()
        for _ in range(reps):
            clock.put(tokens.cpu())
        runs.append((time.perf_counter_ns() - t) / reps)
        clock.take()
    return float(np.median(runs))


def _calls(turns: list[np.ndarray]) -> Calls:
    return Calls(np.concatenate(turns), np.repeat(np.arange(len(turns)), [t.size for t in turns]))


def genai_clock(
    args: argparse.Namespace, model: Any, feeds: dict[str, np.ndarray], clock: str
) -> dict[str, Any]:
    """Per call: infbench's TTFT and TPOT ÷ GenAI's PerfMetrics of the same call, with `token_clock=clock`."""
    from infbench.engines.ov_genai import OvGenAIEngine

    engine = OvGenAIEngine()
    engine.workload = {
        "task": "generate",
        "batch": 1,
        "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
    }
    engine.load(model, {"device": "CPU", "precision": "f32", "threads": args.threads, "token_clock": clock})
    prepared = engine.prepare_inputs({k: v[:1] for k, v in feeds.items()})
    engine.run(prepared)
    engine.take_tokens()
    rows = []
    for _ in range(args.genai_calls):
        t = time.perf_counter_ns()
        out = engine.run(prepared)
        stamps = engine.take_tokens()
        lib = engine.library_metrics(out)
        ttft = (stamps[0] - t) / 1e6
        tpot = float(np.diff(stamps).mean()) / 1e6
        rows.append((ttft, lib["ttft_ms"], tpot, lib["tpot_ms"]))
    engine.close()
    a = np.array(rows)
    return {"ttft": a[:, 0], "ttft_lib": a[:, 1], "tpot": a[:, 2], "tpot_lib": a[:, 3]}


def _spread(ratio: np.ndarray) -> str:
    p10, p50, p90 = np.percentile(ratio, [10, 50, 90])
    return f"{p50:.4f} [{p10:.4f}–{p90:.4f}]"


def main() -> int:
    """Run the overhead arms (and the GenAI clock check) and print a Markdown block for BENCHMARKS.md."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="gpt2-small")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=8, help="A B rounds of the overhead arms")
    ap.add_argument("--calls", type=int, default=3, help="generate calls per arm per round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--genai", action="store_true", help="also compare the ov-genai engine with PerfMetrics")
    ap.add_argument("--genai-calls", type=int, default=20)
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "token_stamps.md"))
    args = ap.parse_args()
    model = prepare_model(args.model, need_onnx=False, need_hf=True, progress=print)
    feeds = _prompts(args.batch, args.prompt_len, model.vocab_size)
    load_before = os.getloadavg()
    cmd = shlex.join(["python", "bench/bench_token_stamps.py", *sys.argv[1:]])
    lines = ["## Per-token timing", ""]
    if not args.skip_overhead:
        stamped, bare, tokens = overhead(args, str(model.hf_dir), feeds)
        c = compare_latencies(bare, stamped, paired=True, process_sd=0.0)  # stamped ÷ bare call time
        lo, hi = c.median_ratio_ci95
        tps = tokens / (np.median(stamped.dur) / 1e9), tokens / (np.median(bare.dur) / 1e9)
        slow = c.median_ratio - 1
        cost = stamp_cost_ns(args.batch)
        step_ns = np.median(bare.dur) / args.new_tokens
        lines += [
            "| arm | median call | tokens/s |",
            "|---|---|---|",
            f"| generate + TokenClock streamer | {np.median(stamped.dur) / 1e6:.1f} ms | {tps[0]:.1f} |",
            f"| bare generate | {np.median(bare.dur) / 1e6:.1f} ms | {tps[1]:.1f} |",
            "",
            f"Stamped ÷ bare call time: **{c.median_ratio:.4f}** [95 % CI {lo:.4f}–{hi:.4f}] "
            f"({args.rounds} rounds × {args.calls} calls per arm): tokens/s overhead {slow:+.2%}; "
            f"goal <= 2 %: **{'PASS' if slow <= 0.02 else 'FAIL'}** (point estimate; the CI says what the "
            "machine's noise allows).",
            "",
            f"Stamping itself, in a tight loop (`TokenClock.put(tokens.cpu())`, batch {args.batch}): {cost:.0f} ns "
            f"per step = {cost / step_ns:.4%} of a bare step ({step_ns / 1e6:.2f} ms).",
            "",
        ]
    if args.genai:
        lines += [
            "| ov-genai token_clock | TTFT infbench ÷ PerfMetrics, p50 [p10–p90] | TPOT ratio p50 [p10–p90] | "
            "median TTFT / TPOT (GenAI) |",
            "|---|---|---|---|",
        ]
        for clock in ("genai", "streamer"):
            g = genai_clock(args, model, feeds, clock)
            lines.append(
                f"| {clock} | {_spread(g['ttft'] / g['ttft_lib'])} | {_spread(g['tpot'] / g['tpot_lib'])} | "
                f"{np.median(g['ttft_lib']):.2f} / {np.median(g['tpot_lib']):.2f} ms |"
            )
        lines.append("")
    load = " / ".join(f"{x:.2f}" for x in load_before), " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines.append(
        f"Run {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}: `{cmd}` — model {args.model}, batch {args.batch}, prompt {args.prompt_len}, "
        f"{args.new_tokens} new tokens, {args.threads} thread(s); load average (1/5/15 min) before {load[0]}, "
        f"after {load[1]}."
    )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
