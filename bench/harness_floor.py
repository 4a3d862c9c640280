"""Harness floor: the per-call overhead infbench adds, measured with the `null` engine in a real child process.

Each "call" of the null engine is an empty method call between two perf_counter_ns() reads, so its duration
is the floor under every other backend's numbers. Target: p50 <= 2 us. Also reports p99.99 and the rate.

    .venv/bin/python bench/harness_floor.py [--seconds 5] [--out bench/results/harness_floor.md]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infbench.engines.base import ModelFiles
from infbench.engines.host import EngineHost


def main() -> int:
    """Run the null engine for --seconds in turns of 0.25 s and print/write the percentiles."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "harness_floor.md"))
    args = ap.parse_args()
    blocks = []
    host = EngineHost(
        "null",
        "null",
        {},
        ModelFiles("none", "none", None, None, ()),
        [{}] * 64,
        blocks.append,
        lambda e: None,
    )
    host.start()
    host.run_turn("warmup", calls=10_000)
    blocks.clear()
    total_calls, elapsed = 0, 0.0
    while elapsed < args.seconds:
        calls = host.run_turn("measure", seconds=0.25).calls
        total_calls += calls
        elapsed += 0.25
    host.stop()
    d = np.concatenate([b.dur_ns for b in blocks]).astype(np.float64)
    span_s = (blocks[-1].start_ns[-1] - blocks[0].start_ns[0]) / 1e9
    qs = [50, 90, 99, 99.9, 99.99]
    vals = np.percentile(d, qs)
    rows = [f"| p{q:g} | {v:,.0f} ns |" for q, v in zip(qs, vals)] + [f"| max | {d.max():,.0f} ns |"]
    verdict = "PASS" if vals[0] <= 2000 else "FAIL"
    text = "\n".join(
        [
            "## Harness floor (null engine)",
            "",
            (
                f"Run {datetime.date.today()} on {platform.machine()} ({_cpu_model()}), Python "
                f"{platform.python_version()}: `python bench/harness_floor.py --seconds {args.seconds:g}`."
            ),
            f"{d.size:,} calls in {span_s:.2f} s of turns ({d.size / span_s:,.0f} calls/s including block shipping).",
            "",
            "| percentile | per-call duration |",
            "|---|---|",
            *rows,
            "",
            f"Target p50 <= 2 us: **{verdict}** ({vals[0]:,.0f} ns).",
            "",
        ]
    )
    print(text)
    Path(args.out).write_text(text)
    return 0 if verdict == "PASS" else 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
