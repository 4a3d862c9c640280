"""A real recorder in a subprocess: feeds blocks in a loop, prints progress lines, handles SIGINT/SIGTERM.

    python -m tests.sessions.writer_script PATH

Each loop writes one block of 1000 samples of backend "a" whose start_ns values encode the block number
(block k covers [k*10**9, k*10**9 + 999]); after each block it prints "k <perf_counter_ns>" and flushes stdout.
"""

from __future__ import annotations

import signal
import sys
import time

import numpy as np

from infbench.records import RunEvent, SampleBlock
from infbench.sessions.recorder import Recorder


def main(path: str) -> None:
    rec = Recorder(path)

    def stop(*_: object) -> None:
        rec.close("interrupted")
        print("closed", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    rec.on_start(
        {"model": "x", "backends": [{"backend": "null", "label": "a", "options": {}}]}, {}, 0, time.time()
    )
    k = 0
    while True:
        start = np.arange(1000, dtype=np.int64) + k * 10**9
        rec.on_samples(
            SampleBlock("a", "measure", start, np.full(1000, 50, np.int64), np.zeros(1000, np.int32))
        )
        if k % 10 == 0:
            rec.on_event(RunEvent(k * 10**9, "mark", f"block {k}"))
        print(k, time.monotonic_ns(), flush=True)
        k += 1
        time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1])
