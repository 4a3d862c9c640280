"""Turns end to end: a real interleaved run in child processes recorded to a session file; and the schema-1
fixture, whose turns are inferred from its samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.records import Fanout
from infbench.run.runner import Runner
from infbench.sessions.reader import SessionReader, open_session
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore
from infbench.sessions.turns import BREAK_SHARE, infer_turns

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "sessions" / "small.infb"
LABELS = ("null", "slow")
WARMUP = 5


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveStore, Path, float]:
    """A short interleaved run of the null engine and a 1 ms engine, recorded and kept in a live store."""
    plan = RunPlan(
        model="none",
        backends=(BackendSpec("null", "null"), BackendSpec("slow", "slow", {"after": 1})),
        workload=WorkloadSpec(batch=1, seq=16, cycle=4),
        duration_s=0.4,
        iterations=5,
        block_s=0.1,
        warmup_iterations=WARMUP,
    )
    path = tmp_path_factory.mktemp("turns") / "run.infb"
    rec, store = Recorder(path), LiveStore()
    outcome = Runner(plan, Fanout(rec, store), monitors=False).run()
    rec.close(outcome)
    assert outcome == "complete" and rec.error is None
    return store, path, plan.block_s


def _turn_of_each_sample(start: np.ndarray, dur: np.ndarray, turns: tuple[np.ndarray, ...]) -> np.ndarray:
    """Index of the one turn holding each call [start, start + dur]; asserts there is exactly one."""
    t0, t1 = turns[0], turns[1]
    assert np.all(t0 <= t1) and np.all(t1[:-1] <= t0[1:])  # turns are disjoint and sorted
    k = np.searchsorted(t0, start, "right") - 1
    assert np.all(k >= 0)
    assert np.all(start >= t0[k]) and np.all(start + dur <= t1[k])
    return k


@pytest.mark.parametrize("phase", ["measure", "warmup"])
def test_recorded_turns_hold_every_sample(recorded: tuple[LiveStore, Path, float], phase: str) -> None:
    _, path, _ = recorded
    with open_session(path) as r:
        assert r.metadata["schema_version"] == 3 and r.metadata["turns"] == "recorded"
        for label in LABELS:
            start, dur = r.samples(label, phase=phase)
            turns = r.turns(label, phase)
            k = _turn_of_each_sample(start, dur, turns)
            assert np.array_equal(np.bincount(k, minlength=turns[0].size), turns[2])
            assert int(turns[2].sum()) == start.size > 0
            first = np.concatenate([[0], np.cumsum(turns[2])[:-1]])
            assert np.array_equal(np.add.reduceat(dur, first), turns[3])
            if phase == "warmup":
                assert turns[2].tolist() == [WARMUP]
            else:
                assert turns[0].size >= 2  # 0.4 s of turns of at least 0.1 s


def test_live_store_and_reader_return_the_same_turns(recorded: tuple[LiveStore, Path, float]) -> None:
    store, path, _ = recorded
    with open_session(path) as r:
        for label in LABELS:
            for phase in ("measure", "warmup", None):
                live, read = store.turns(label, phase), r.turns(label, phase)
                assert all(a.dtype == np.int64 and np.array_equal(a, b) for a, b in zip(live, read))
            both = r.turns(label, None)
            assert both[0].size == r.turns(label)[0].size + 1 and np.all(np.diff(both[0]) > 0)
        assert [a.size for a in r.turns("nobody")] == [0, 0, 0, 0]


def test_inference_finds_the_recorded_turns_of_a_real_run(recorded: tuple[LiveStore, Path, float]) -> None:
    """The schema-1 fallback, checked against what the worker reported for the same calls."""
    store, _, block_s = recorded
    for label in LABELS:
        got = infer_turns(*store.samples(label, phase="measure"), block_s)
        assert got[2].tolist() == store.turns(label)[2].tolist(), label
        assert np.array_equal(got[3], store.turns(label)[3])


def _break_separated(turns: tuple[np.ndarray, ...], block_s: float) -> list[tuple[int, int]]:
    """(calls, busy_ns) of the turns whose neighbours are at least a break (BREAK_SHARE turns) away."""
    start, end, calls, busy = turns
    gap_before = np.r_[np.inf, start[1:] - end[:-1]]
    gap_after = np.r_[start[1:] - end[:-1], np.inf]
    far = (gap_before >= BREAK_SHARE * block_s * 1e9) & (gap_after >= BREAK_SHARE * block_s * 1e9)
    return [(int(c), int(b)) for c, b, f in zip(calls, busy, far) if f]


def test_schema1_fixture_turns_are_inferred(tmp_path: Path) -> None:
    """small.infb predates turns and checksums; a twin in the current schema has the same samples."""
    from tests.fixtures.make_fixture_session import make

    old = open_session(FIXTURE)
    new = open_session(make(tmp_path / "twin.infb"))
    with old, new:
        assert old.metadata["schema_version"] == 1 and old.metadata["turns"] == "inferred"
        assert new.metadata["schema_version"] == 3 and new.metadata["turns"] == "recorded"
        block_s = float(old.plan["block_s"])
        for label in old.backend_infos():
            for phase in ("measure", "warmup", None):
                start, dur = old.samples(label, phase=phase)
                assert np.array_equal(start, new.samples(label, phase=phase)[0])
                inferred, truth = old.turns(label, phase), new.turns(label, phase)
                # consecutive runs of calls (the fixture's calls may overlap, so turns may too)
                assert int(inferred[2].sum()) == start.size and np.all(inferred[2] > 0)
                first = np.concatenate([[0], np.cumsum(inferred[2])[:-1]])
                last = np.cumsum(inferred[2]) - 1
                assert np.array_equal(inferred[0], start[first])
                assert np.array_equal(inferred[1], np.maximum.accumulate(start + dur)[last])
                assert np.array_equal(inferred[3], np.add.reduceat(dur, first))
                # every turn set apart by idle time is found exactly (the fixture also lets one backend run
                # twice in a row, with turns shorter than block_s, even overlapping: those are approximate)
                exact = set(_break_separated(truth, block_s))
                assert exact and exact <= set(zip(inferred[2].tolist(), inferred[3].tolist()))
            assert old.turns(label, "warmup")[2].tolist() == [5]


def test_reader_caches_turns_and_rejects_bad_rows(
    recorded: tuple[LiveStore, Path, float], tmp_path: Path
) -> None:
    import shutil
    import sqlite3

    from infbench.errors import SessionError

    _, path, _ = recorded
    with open_session(path) as r:
        assert r.turns("null") is r.turns("null")
    bad = tmp_path / "bad.infb"
    shutil.copy(path, bad)
    con = sqlite3.connect(bad)
    con.execute("UPDATE turns SET end_ns = start_ns - 1 WHERE id = 2")
    con.commit()
    con.close()
    with SessionReader(bad) as r, pytest.raises(SessionError, match="corrupt.*bad turn row"):
        for label in LABELS:
            r.turns(label, None)
