"""Recorder ingest: samples per second the session recorder sustains, without dropping, from null-engine-like
blocks (the harness floor: ~70 ns calls, ~2.5 M calls/s shipped in ~50 ms blocks). Target >= 200 k/s.

Producer threads (one per backend, like engine hosts) push pre-built blocks as fast as they can; the rate is
samples written / (time from the first block until `close()` has committed everything). Then the file is read
back and every sample counted.

    .venv/bin/python bench/session_ingest.py [--seconds 5] [--backends 2] [--rate 2.5e6|0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infbench.records import SampleBlock
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder


def null_blocks(label: str, n_blocks: int, per_block: int, seed: int) -> list[SampleBlock]:
    """Blocks of null-engine-like calls: ~70 ns durations with rare µs outliers, ~300 ns loop gaps."""
    rng = np.random.default_rng(seed)
    n = n_blocks * per_block
    dur = rng.normal(75, 8, n).astype(np.int64)
    dur[rng.random(n) < 1e-3] += rng.integers(500, 50_000, int((rng.random(n) < 1e-3).sum()) or 1)[0]
    gap = rng.normal(300, 30, n).astype(np.int64)
    start = 10**12 + np.cumsum(dur + gap)
    idx = (np.arange(n) % 64).astype(np.int32)
    return [
        SampleBlock(
            label,
            "measure",
            start[i * per_block : (i + 1) * per_block],
            dur[i * per_block : (i + 1) * per_block],
            idx[i * per_block : (i + 1) * per_block],
        )
        for i in range(n_blocks)
    ]


def run(seconds: float, backends: int, rate: float) -> dict[str, float]:
    """Feed each backend at `rate` samples/s (0: as fast as possible) in 50 ms blocks for `seconds`."""
    per_block = int(rate * 0.05) if rate else 100_000
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "ingest.infb"
        rec = Recorder(path)
        rec.on_start({"model": "null", "backends": []}, {}, 10**12, time.time())
        pool = {f"null{k}": null_blocks(f"null{k}", 40, per_block, k) for k in range(backends)}
        sent = [0] * backends
        max_queue = [0]
        t_end = time.perf_counter() + seconds

        def producer(k: int) -> None:
            blocks, i, shift = pool[f"null{k}"], 0, 0
            next_t = time.perf_counter()
            while time.perf_counter() < t_end:
                b = blocks[i % len(blocks)]
                if i and i % len(blocks) == 0:
                    shift += int(blocks[-1].start_ns[-1] - blocks[0].start_ns[0]) + 1000
                rec.on_samples(SampleBlock(b.backend, b.phase, b.start_ns + shift, b.dur_ns, b.input_idx))
                sent[k] += len(b)
                i += 1
                max_queue[0] = max(max_queue[0], len(rec._queue))
                next_t += 0.05 if rate else 0.005  # engine hosts wait on their pipes between blocks
                time.sleep(max(0.0, next_t - time.perf_counter()))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=producer, args=(k,)) for k in range(backends)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_fed = time.perf_counter() - t0
        rec.close("complete")
        t_all = time.perf_counter() - t0
        with open_session(path) as r:
            read = sum(r.metadata["samples"].values())
        size = path.stat().st_size
    total = sum(sent)
    return {
        "sent": total,
        "read": read,
        "fed_s": t_fed,
        "total_s": t_all,
        "rate": total / t_all,
        "offered_rate": total / t_fed,
        "bytes_per_sample": size / max(read, 1),
        "max_queue_blocks": max_queue[0],
    }


def main() -> int:
    """Run the benchmark and print (and optionally append) the result."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--backends", type=int, default=2)
    ap.add_argument(
        "--rate",
        type=float,
        default=2.5e6,
        help="samples/s per backend (default 2.5e6: the null engine's measured rate); 0 = flat out",
    )
    args = ap.parse_args()
    res = run(args.seconds, args.backends, args.rate)
    ok = res["read"] == res["sent"]
    print(
        f"sent {res['sent']:,} samples from {args.backends} producer threads in {res['fed_s']:.2f} s "
        f"(offered {res['offered_rate']:,.0f}/s); all committed after {res['total_s']:.2f} s"
    )
    print(f"commit lag after the last block: {res['total_s'] - res['fed_s']:.2f} s")
    print(
        f"sustained ingest: {res['rate']:,.0f} samples/s  (target >= 200,000/s: "
        f"{'PASS' if res['rate'] >= 200_000 and ok else 'FAIL'})"
    )
    print(
        f"read back {res['read']:,} samples ({'none dropped' if ok else 'DROPPED'}); "
        f"{res['bytes_per_sample']:.2f} bytes/sample; max queue {res['max_queue_blocks']} blocks"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
