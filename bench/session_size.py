"""Session size and speed: bytes per sample, open+seek time and recorder RSS for a 10 M-sample session.

1. 10 M null-engine-like samples (2 backends) recorded through the real Recorder at the null engine's rate
   (2.5 M/s, 50 ms blocks) with monitor readings at 10 Hz; RSS sampled every 0.1 s (target: flat, < 300 MB).
2. The file is opened and sought: open_session + seek(middle) + a 1 s window of samples + monitor_latest +
   backend_infos (target <= 1 s); also the time for the full report (stats over all 10 M samples).
3. Bytes per sample for slow calls (10 ms ± 3 %, one row per 0.5 s of calls, as the recorder writes them).

    .venv/bin/python bench/session_size.py [--samples 10000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from session_ingest import null_blocks

from infbench.records import BackendInfo, MonitorReading, SampleBlock
from infbench.sessions.recorder import Recorder

T0 = 10**12
OPEN_SEEK = """
import sys, time
t = time.perf_counter()
from infbench.sessions.reader import open_session
t_imp = time.perf_counter()
r = open_session(sys.argv[1])
mid = (r.t0_ns + r.end_ns()) // 2
infos = r.backend_infos(at_ns=mid)
n = sum(r.samples(lb, mid - 10**9, mid)[0].size for lb in infos)
r.monitor_latest(mid)
t_seek = time.perf_counter()
from infbench.analysis.summary import build_report
rep = build_report(r)
t_rep = time.perf_counter()
print(t_imp - t, t_seek - t_imp, t_rep - t_seek, n, sum(b.iterations for b in rep.variants.values()))
"""


def record(path: Path, total: int, rate: float = 2.5e6) -> tuple[list[float], float]:
    """Record `total` samples over 2 backends taking turns (interleaved) at `rate`; return RSS trace (MB), s."""
    proc = psutil.Process()
    rss: list[float] = []
    done = threading.Event()

    def sample_rss() -> None:
        while not done.is_set():
            rss.append(proc.memory_info().rss / 2**20)
            time.sleep(0.1)

    per_block = int(rate * 0.05)
    pool = {lb: null_blocks(lb, 8, per_block, k) for k, lb in enumerate(("null", "null#2"))}
    rec = Recorder(path)
    rec.on_start(
        {"model": "null", "backends": [{"backend": "null", "label": lb, "options": {}} for lb in pool]},
        {"cpu": "bench"},
        T0,
        time.time(),
    )
    for lb in pool:
        rec.on_backend(BackendInfo(lb, "null", {}, status="running"))
    watcher = threading.Thread(target=sample_rss, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    sent, i, t_sim, next_t = 0, 0, T0, time.perf_counter()
    while sent < total:
        lb = ("null", "null#2")[i % 2]
        b = pool[lb][(i // 2) % 8]
        start = b.start_ns - b.start_ns[0] + t_sim
        t_sim = int(start[-1] + b.dur_ns[-1] + 300)
        rec.on_samples(SampleBlock(lb, "measure", start, b.dur_ns, b.input_idx))
        if i % 2 == 0:
            rec.on_monitor(
                [
                    MonitorReading(
                        t_sim,
                        "cpu",
                        {
                            "cpu.util.total": 50.0 + i % 7,
                            "mem.available_mb": 4000.0,
                            "cpu.util.0": 99.0,
                            "cpu.util.1": 3.0,
                        },
                    )
                ]
            )
        sent += len(b)
        i += 1
        next_t += 0.05
        time.sleep(max(0.0, next_t - time.perf_counter()))
    rec.close("complete")
    elapsed = time.perf_counter() - t0
    done.set()
    watcher.join()
    return rss, elapsed


def slow_bytes_per_sample(path: Path, n: int = 50_000) -> tuple[float, float]:
    """Bytes/sample of 10 ms ± 3 % calls written as the recorder does for them (≈ 50 calls per commit)."""
    rng = np.random.default_rng(7)
    dur = (1e7 * rng.lognormal(0, 0.03, n)).astype(np.int64)
    gap = rng.integers(300, 3000, n)
    start = T0 + np.concatenate([[0], np.cumsum(dur + gap)[:-1]])
    rec = Recorder(path, commit_interval_s=3600)
    for i in range(0, n, 50):
        sl = slice(i, i + 50)
        rec.on_samples(SampleBlock("ort", "measure", start[sl], dur[sl], np.zeros(dur[sl].size, np.int32)))
        rec.flush()
    rec.close("complete")
    import sqlite3

    con = sqlite3.connect(path)
    blobs = con.execute("SELECT SUM(LENGTH(blob)) FROM sample_blocks").fetchone()[0]
    con.close()
    return path.stat().st_size / n, blobs / n


def main() -> int:
    """Run all three parts and print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=10_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.infb"
        rss, elapsed = record(path, args.samples)
        size = path.stat().st_size
        print(
            f"recorded {args.samples:,} samples in {elapsed:.1f} s; file {size / 2**20:.1f} MiB = "
            f"{size / args.samples:.2f} bytes/sample"
        )
        print(
            f"recorder process RSS: start {rss[0]:.0f} MB, median {np.median(rss):.0f} MB, max {max(rss):.0f} MB, "
            f"end {rss[-1]:.0f} MB  (target flat, < 300 MB: {'PASS' if max(rss) < 300 else 'FAIL'})"
        )
        out = subprocess.run(
            [sys.executable, "-c", OPEN_SEEK, str(path)],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
        ).stdout.split()
        t_imp, t_seek, t_rep, n_win, n_all = (
            float(out[0]),
            float(out[1]),
            float(out[2]),
            int(out[3]),
            int(out[4]),
        )
        print(
            f"fresh process: import {t_imp:.2f} s; open + seek(middle) + 1 s window ({n_win:,} samples) + "
            f"monitor_latest: {t_seek:.3f} s (target <= 1 s: {'PASS' if t_seek <= 1 else 'FAIL'}); "
            f"full report over {n_all:,} samples: {t_rep:.2f} s"
        )
        whole, blob = slow_bytes_per_sample(Path(d) / "slow.infb")
        print(
            f"slow calls (50,000 calls of 10 ms ± 3 %, ~50 per commit): whole file {whole:.2f} bytes/sample, "
            f"sample blocks alone {blob:.2f} bytes/sample"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
