"""LiveStore: RunListener + RunData in memory, thread-safe; summary and rendering over it."""

from __future__ import annotations

import io
import threading

import numpy as np
from rich.console import Console

from infbench.analysis.summary import backend_results, build_report, winners
from infbench.records import BackendInfo, SampleBlock
from infbench.report.results import print_results_table, results_csv, results_markdown
from infbench.sessions.store import LiveStore
from tests.sessions.synth import T0, feed


def test_queries_by_time_and_phase() -> None:
    s = LiveStore()
    feed(s, n_blocks=40)
    start, _ = s.samples("a")
    assert start.size == 2000 and np.all(np.diff(start) > 0)
    ms, _ = s.samples("a", phase="measure")
    ws, _ = s.samples("a", phase="warmup")
    assert ms.size == 1950 and ws.size == 50 and s.sample_count("a", "measure") == 1950
    t0, t1 = int(start[100]), int(start[900])
    w, _ = s.samples("a", t0, t1)
    assert np.array_equal(w, start[100:900])
    t, v = s.monitor_series("cpu.util.total", T0, T0 + 100_000_000)
    assert t.tolist() == [T0, T0 + 50_000_000] and v.tolist() == [50.0, 51.0]
    assert np.isnan(s.monitor_series("cpu.name")[1]).all()
    assert s.monitor_latest(T0 + 60_000_000)["cpu.util.total"] == 51.0
    assert [e.kind for e in s.events()] == ["mark", "warmup_end", "warmup_end"]  # one per backend
    assert s.outcome() == "complete" and s.end_ns() > T0
    assert list(s.backend_infos()) == ["a", "b"]


def test_concurrent_writers_and_readers() -> None:
    s = LiveStore()
    n_threads, n_blocks, per = 4, 200, 100
    stop = threading.Event()

    def writer(k: int) -> None:
        for b in range(n_blocks):
            start = np.arange(b * per, (b + 1) * per, dtype=np.int64) * 10 + k
            s.on_samples(
                SampleBlock(f"w{k}", "measure", start, np.full(per, 7, np.int64), np.zeros(per, np.int32))
            )
            s.on_backend(BackendInfo(f"w{k}", "null", {}, status="running"))

    problems: list[str] = []  # what the reader thread saw wrong: asserted here, in the main thread
    reads = [0]

    def reader() -> None:
        try:
            while True:
                done = stop.is_set()  # one more full pass after the writers finished
                for k in range(n_threads):
                    st, du = s.samples(f"w{k}", 0, 10**9)
                    if st.size != du.size or st.size % per or np.any(np.diff(st) <= 0):
                        problems.append(
                            f"w{k}: {st.size} starts, {du.size} durations, not whole sorted blocks"
                        )
                reads[0] += 1
                if done:
                    return
        except Exception as exc:
            problems.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(n_threads)]
    r = threading.Thread(target=reader)
    r.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    r.join()
    assert problems == [] and reads[0] >= 1
    for k in range(n_threads):
        st, _ = s.samples(f"w{k}")
        assert st.size == n_blocks * per and np.all(np.diff(st) > 0)


def test_summary_and_render() -> None:
    s = LiveStore()
    feed(s)
    res = backend_results(s, n_boot=200)
    a, b = res["a"], res["b"]
    assert a.verdict == "ok" and a.iterations == 950 and a.warmup_iterations == 50
    assert a.latency is not None and b.latency is not None
    assert abs(a.latency.median - 1.0) < 0.05 and abs(b.latency.median - 2.0) < 0.1
    assert a.relative_to_fastest is not None and b.relative_to_fastest is not None
    assert a.relative_to_fastest.median == 1.0 and 1.9 < b.relative_to_fastest.median < 2.1
    assert a.throughput_per_s is not None and a.tokens_per_s == a.throughput_per_s * 16
    assert winners(res)["median"] == "a" and winners(res)["throughput"] == "a"
    # a control (the null engine's role): never the fastest, never a winner, no relative figure of its own
    s.on_backend(BackendInfo("a", "null", {}, status="done", roles=["control"]))
    res = backend_results(s, n_boot=200)
    assert res["a"].relative_to_fastest is None
    assert res["b"].relative_to_fastest is not None and res["b"].relative_to_fastest.median == 1.0
    assert "median" not in winners(res)
    s.on_backend(BackendInfo("a", "onnxruntime", {}, status="done"))
    s.on_backend(BackendInfo("b", "onnxruntime", {}, status="failed", error="segfault (signal 11)"))
    rep = build_report(s, n_boot=200)
    assert rep.variants["b"].verdict == "failed" and "median" not in rep.winners
    buf = io.StringIO()
    print_results_table(Console(file=buf, width=250), rep)
    text = buf.getvalue()
    assert "segfault" in text and "★" not in text.split("\n")[3]
    assert results_csv(rep).count("\n") == 3
    assert "warmup_end" in results_markdown(rep)
