"""Recorder → file → reader: round trip, crash safety (SIGKILL, SIGINT in a real subprocess), write errors."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from infbench.analysis.summary import build_report
from infbench.errors import SessionError
from infbench.records import Fanout
from infbench.sessions.paths import default_session_path
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore
from tests.sessions.synth import T0, feed

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip_identical_samples_and_report(tmp_path: Path) -> None:
    path = tmp_path / "s.infb"
    rec, store = Recorder(path), LiveStore()
    feed(Fanout(rec, store), labels=("a", "b", "c"), n_blocks=30, per_block=80)
    rec.close("complete")
    assert not (tmp_path / "s.infb-wal").exists()
    with open_session(path) as r:
        for label in ("a", "b", "c"):
            for phase in (None, "warmup", "measure"):
                for x, y in zip(store.samples(label, phase=phase), r.samples(label, phase=phase)):
                    assert np.array_equal(x, y)
            for phase in (None, "warmup", "measure"):
                turns = r.turns(label, phase)
                assert all(np.array_equal(x, y) for x, y in zip(store.turns(label, phase), turns))
            assert r.turns(label)[2].tolist() == [80] * 29  # one warm-up block, 29 measured ones
            assert int(r.turns(label, None)[3].sum()) == int(store.samples(label)[1].sum())
            t = int(store.samples(label)[0][500])
            assert np.array_equal(store.samples(label, t, t + 10**7)[0], r.samples(label, t, t + 10**7)[0])
        ja = json.dumps(build_report(store, n_boot=300).to_json_dict(), sort_keys=True, default=str)
        jb = json.dumps(build_report(r, n_boot=300).to_json_dict(), sort_keys=True, default=str)
        assert ja == jb
        assert r.outcome() == "complete" and r.metadata["samples"]["a"] == 2400
        assert r.metrics() == store.metrics()
        for m in store.metrics():
            assert np.array_equal(store.monitor_series(m)[0], r.monitor_series(m)[0])
            np.testing.assert_array_equal(store.monitor_series(m)[1], r.monitor_series(m)[1])
        assert r.monitor_latest(T0 + 10**8) == store.monitor_latest(T0 + 10**8)
        assert r.events() == store.events() and r.end_ns() == store.end_ns()
        blocks = list(r.iter_blocks())
        assert sum(len(b) for b in blocks) == 7200
        assert all(b0.start_ns[0] <= b1.start_ns[0] for b0, b1 in itertools.pairwise(blocks))


def _committed(path: Path) -> dict[str, int]:
    """Samples per backend that another process would see now (opened while the writer holds the file)."""
    with open_session(path) as r:
        assert r.outcome() is None
        return r.metadata["samples"]


def _wait_until(condition: Callable[[], bool], timeout_s: float = 20.0, poll_s: float = 0.02) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes (a condition wait, not a fixed delay)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


def test_commits_on_its_own_while_running(tmp_path: Path) -> None:
    """Without flush() or close(), the writer commits every commit_interval_s (by default under a second, so a
    kill -9 loses at most the last second)."""
    assert inspect.signature(Recorder).parameters["commit_interval_s"].default < 1.0
    path = tmp_path / "live.infb"
    rec = Recorder(path, commit_interval_s=0.1)
    feed(rec, outcome=None)
    assert _wait_until(lambda: _committed(path) == {"a": 1000, "b": 1000})
    rec.close("complete")
    rec.close("failed")  # idempotent
    assert open_session(path).outcome() == "complete"


def test_open_errors(tmp_path: Path) -> None:
    existing = tmp_path / "x.infb"
    existing.write_text("data")
    with pytest.raises(SessionError, match="exists"):
        Recorder(existing)
    with pytest.raises(SessionError, match="directory"):
        Recorder(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SessionError, match="cannot create"):
        Recorder(blocker / "sub" / "s.infb")


def test_write_failure_is_surfaced(tmp_path: Path) -> None:
    errors: list[str] = []
    rec = Recorder(tmp_path / "s.infb", on_error=errors.append)
    rec._conn.execute("PRAGMA max_page_count=12")  # simulate a full disk: the database cannot grow
    feed(rec, n_blocks=200, per_block=500, outcome=None)
    assert not rec.flush(5)
    assert rec.failed and errors == [rec.error] and "disk full" in rec.error
    rec.close("complete")  # no exception


def test_discard_and_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFBENCH_DATA_DIR", str(tmp_path / "data"))
    p = default_session_path("/models/My Model.onnx")
    assert p.parent == tmp_path / "data" and p.name.endswith("-My_Model.onnx.infb")
    rec = Recorder(p)
    assert p.exists()
    rec.discard()
    assert not p.exists() and not list(p.parent.iterdir())


def _start_writer(path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sessions.writer_script", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen, k: int) -> list[tuple[int, int]]:
    lines = []
    while True:
        line = proc.stdout.readline()
        assert line, "writer exited early"
        a, b = line.split()
        lines.append((int(a), int(b)))
        if lines[-1][0] >= k:
            return lines


def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.infb"
    proc = _start_writer(path)
    lines = _read_until(proc, 150)
    proc.kill()
    killed_at = time.monotonic_ns()
    proc.wait(10)
    with open_session(path) as r:
        start, _ = r.samples("a")
        assert r.outcome() is None
    blocks = set((start // 10**9).tolist())
    assert blocks == set(range(len(blocks)))  # a prefix: nothing lost in the middle
    written_before = [k for k, t in lines if t < killed_at - 1_000_000_000]
    assert max(blocks) >= max(written_before)
    assert np.array_equal(np.sort(start), start)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_loses_nothing(tmp_path: Path, sig: int) -> None:
    path = tmp_path / "int.infb"
    proc = _start_writer(path)
    seen = _read_until(proc, 20)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=20)
    rest = out.split("\n")
    assert proc.returncode == 0 and "closed" in rest
    last = max([int(x.split()[0]) for x in rest if x and x != "closed"] + [seen[-1][0]])
    with open_session(path) as r:
        start, _ = r.samples("a")
        assert r.outcome() == "interrupted"
    blocks = set((start // 10**9).tolist())
    assert blocks == set(range(len(blocks))) and len(blocks) >= last + 1 and start.size == len(blocks) * 1000
    assert not Path(str(path) + "-wal").exists()


def test_fast_engine_blocks_are_stored_raw_and_round_trip() -> None:
    import numpy as np

    from infbench.sessions import schema

    rng = np.random.default_rng(5)
    n = 5000
    dur = rng.integers(60, 250, n).astype(np.int64)  # null-engine-like: ~100 ns calls, ~60 ns apart
    gaps = rng.integers(40, 90, n).astype(np.int64)
    start = 10**12 + np.concatenate([[0], np.cumsum(dur[:-1] + gaps[:-1])])
    idx = (np.arange(n) % 64).astype(np.int32)
    dur[::997] = 2_500_000  # rare millisecond outliers, as a real null engine shows
    start = 10**12 + np.concatenate([[0], np.cumsum(dur[:-1] + gaps[:-1])])
    fast = schema.encode_samples(start, dur, idx)
    assert fast[:4] == b"IBS2" and len(fast) < 3 * n  # patched: outliers do not widen the whole block
    shuffled = schema.encode_samples(start, dur, idx[::-1].copy())  # indices not in the worker's cyclic order
    s3, d3, i3 = schema.decode_samples(shuffled)
    assert np.array_equal(i3, idx[::-1]) and np.array_equal(d3, dur) and np.array_equal(s3, start)
    slow_start = 10**12 + np.arange(n, dtype=np.int64) * 10_000_000
    slow = schema.encode_samples(slow_start, dur, idx)
    assert slow[:4] == b"IBS1"
    for blob, s in ((fast, start), (slow, slow_start)):
        s2, d2, i2 = schema.decode_samples(blob)
        assert np.array_equal(s2, s) and np.array_equal(d2, dur) and np.array_equal(i2, idx)
    import pytest

    with pytest.raises(schema.CodecError):
        schema.decode_samples(fast[:-1])
