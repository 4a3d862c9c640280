"""Replay shows, at each instant, the status the session stored then (never one inferred from the calls); the
live view treats the control and the A/A twin as the report does; throttle spans are keyed per signal, checked
through the real producer's events."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infbench.monitors.throttle import ThrottleTracker
from infbench.records import BackendInfo, MonitorReading, SampleBlock
from infbench.sessions.reader import open_session
from infbench.sessions.store import LiveStore
from infbench.tui.app import InfbenchApp
from infbench.tui.snapshot import SnapshotBuilder
from infbench.tui.widgets.backend_panel import BackendPanel, stats_lines
from infbench.tui.widgets.backend_table import _vs
from infbench.vocab import Role, Status
from tests.tui.screen import widget_text

T0 = 1_000_000_000_000
S = 1_000_000_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run, recorded: the real CLI runs onnxruntime and the null control on bert-tiny, interleaved."""
    path = tmp_path_factory.mktemp("recorded") / "run.infb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infbench",
            "run",
            "bert-tiny",
            "-b",
            "ort",
            "-b",
            "null",
            "-d",
            "1.5",
            "-n",
            "20",
        ]
        + ["--threads", "1", "--headless", "--save", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, COLUMNS="200"),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return path


def _stored_rows(path: Path) -> tuple[int, list[tuple[int, str, str]]]:
    """t0 and every stored (t_ns, label, status) row, in the order written: read straight from the file."""
    db = sqlite3.connect(path)
    try:
        t0 = int(json.loads(db.execute("SELECT value FROM meta WHERE key = 't0_ns'").fetchone()[0]))
        rows = [
            (int(t), str(label), str(json.loads(info)["status"]))
            for t, label, info in db.execute("SELECT t_ns, label, info FROM backends ORDER BY id")
        ]
    finally:
        db.close()
    return t0, rows


def _stored_at(rows: list[tuple[int, str, str]], label: str, t: int) -> str:
    """The latest status stored for `label` at or before `t` (pending before its first row)."""
    status = Status.PENDING.value
    for t_ns, lab, st in rows:
        if lab == label and t_ns <= t:
            status = st
    return status


def test_replay_shows_the_status_row_stored_at_each_instant(recorded: Path) -> None:
    t0, rows = _stored_rows(recorded)
    statuses = {st for _, _, st in rows}
    assert {"loading", "running", "waiting", "done"} <= statuses, statuses  # the runner's real life cycle
    data = open_session(recorded)
    try:
        builder = SnapshotBuilder(data)
        end = data.end_ns()
        # every stored change, the nanosecond before it, and midway to the next one; walked forwards
        instants = sorted({t for t_ns, _, _ in rows for t in (t_ns - 1, t_ns) if t0 <= t < end})
        instants = sorted({*instants, *((a + b) // 2 for a, b in zip(instants, instants[1:]))})
        waiting_just_after_calls = 0
        for t in instants:
            snap = builder.build(t)
            for b in snap.backends:
                expected = _stored_at(rows, b.label, t)
                assert b.status == expected, (b.label, (t - t0) / 1e9, b.status, expected)
                if expected == Status.WAITING:
                    start, dur = data.samples(b.label, t - 150_000_000, t + 1)
                    waiting_just_after_calls += bool(start.size)
        # a backend that has just ended its turn is shown waiting, as stored: inferring from the calls (the
        # replay's old rule: "running" within 150 ms of a call) showed it running
        assert waiting_just_after_calls > 0
        final = builder.build(end)
        assert all(b.status == _stored_at(rows, b.label, end) for b in final.backends)
    finally:
        data.close()


def test_replay_screen_shows_the_stored_status_text(recorded: Path) -> None:
    t0, rows = _stored_rows(recorded)
    i, (t_wait, label, _) = next((i, r) for i, r in enumerate(rows) if r[2] == Status.WAITING)
    t_next = next(t for t, lab, _ in rows[i + 1 :] if lab == label)  # its next change (running again)
    at_s = ((t_wait + t_next) // 2 - t0) / 1e9  # midway: clear of the float rounding of `start_s`
    app = InfbenchApp(data=open_session(recorded), session=recorded.name, start_s=at_s, playing=False)

    async def drive() -> None:
        async with app.run_test(size=(150, 46)) as pilot:
            scr = app.screen
            for _ in range(200):
                if scr.last_snapshot is not None:
                    break
                await pilot.pause(0.02)
            await pilot.pause(0.2)
            b = next(b for b in scr.last_snapshot.backends if b.label == label)
            assert b.status == Status.WAITING and b.status_text == Status.WAITING.text
            panel = next(p for p in scr.query(BackendPanel) if p.label == label)
            # the label, what the engine reported it computes with (ORT: f32; null: nothing), the stored status
            numerics = "" if b.numerics is None else f" · {b.numerics}"
            assert b.numerics == (None if b.is_control else "f32")
            assert f"{label}{numerics}  {Status.WAITING.text}" in widget_text(app, panel)

    try:
        asyncio.run(drive())
    finally:
        app.data.close()


def _store_with_twin_and_control() -> LiveStore:
    """onnxruntime, its A/A twin (10 % faster here) and the null control, with the roles the runner copies
    from the plan's variants."""
    store = LiveStore()
    backends = [
        ("onnxruntime", "onnxruntime", [], None, 2_000_000),
        ("onnxruntime#aa", "onnxruntime", [Role.AA_TWIN.value], "onnxruntime", 1_800_000),
        ("null", "null", [Role.CONTROL.value], None, 2_000),
    ]
    plan = {"model": "bert-tiny", "backends": [{"label": lab, "backend": eng} for lab, eng, *_ in backends]}
    store.on_start(plan, {}, T0, 0.0)
    t = T0
    for label, engine, roles, twin_of, dur_ns in backends:
        store.on_backend(BackendInfo(label, engine, {}, status="running", roles=roles, twin_of=twin_of))
        dur = np.full(50, dur_ns, np.int64)
        start = t + np.arange(50, dtype=np.int64) * (dur_ns + 1000)
        store.on_samples(SampleBlock(label, "measure", start, dur, np.zeros(50, np.int32)))
        t = int(start[-1] + dur_ns + 1000)
    return store


def test_the_twin_and_the_control_never_compete_as_in_the_report() -> None:
    snap = SnapshotBuilder(_store_with_twin_and_control()).build()
    ort, twin, null = snap.backends
    assert ort.rel_to_fastest == pytest.approx(1.0, rel=0.02)  # the faster twin is no competitor
    assert twin.is_twin and not twin.competes and twin.twin_of == "onnxruntime"
    assert twin.rel_to_original == pytest.approx(0.9, rel=0.02)
    assert null.is_control and null.rel_to_fastest is None
    text = {b.label: " ".join(str(line) for line in stats_lines(b, 80)) for b in snap.backends}
    assert "fastest" in text["onnxruntime"] and "vs fastest" not in text["onnxruntime"]
    assert f"A/A twin of onnxruntime: ×{twin.rel_to_original:.2f} of it" in text["onnxruntime#aa"]
    assert "fastest" not in text["onnxruntime#aa"]
    assert "control: the harness floor" in text["null"]
    assert [_vs(b)[0] for b in snap.backends] == ["best", "A/A", "ctrl"]


def test_overlapping_cpu_and_gpu_throttling_are_two_spans() -> None:
    """The real `ThrottleTracker` over CPU thermal counters and a GPU's alarm bit that overlap in time: its
    events carry ``signal`` (``cpu_thermal``, ``gpu0``), so the snapshot keeps two spans, not one merged."""
    store = LiveStore()
    store.on_start({"model": "none"}, {}, T0, 0.0)
    tracker = ThrottleTracker()
    for k in range(9):  # readings at 0 … 8 s: CPU throttles at 1–3 s, the GPU at 2–5 s
        t = T0 + k * S
        cpu_on = 1 <= k <= 3
        gpu_on = 2 <= k <= 5
        readings = [
            MonitorReading(
                t,
                "thermal",
                {"cpu.throttle.core_count.delta": 0, "cpu.throttle.package_count.delta": 3 if cpu_on else 0},
            ),
            MonitorReading(
                t,
                "gpu",
                {
                    "gpu0.clock_event_alarm": 1 if gpu_on else 0,
                    "gpu0.clock_event_reasons": 0x40 if gpu_on else 0,
                },
            ),
        ]
        store.on_monitor(readings)
        for event in tracker.update(readings):
            store.on_event(event)
    kinds = [(e.kind, e.data["signal"], (e.t_ns - T0) / S) for e in store.events()]
    assert kinds == [
        ("throttle_on", "cpu_thermal", 1.0),
        ("throttle_on", "gpu0", 2.0),
        ("throttle_off", "cpu_thermal", 4.0),
        ("throttle_off", "gpu0", 6.0),
    ]
    builder = SnapshotBuilder(store)
    mid = builder.build(T0 + int(3.5 * S))
    assert mid.throttle_spans == ((1.0, None), (2.0, None)) and mid.throttle_active
    later = builder.build(T0 + int(4.5 * S))
    assert later.throttle_spans == ((1.0, 4.0), (2.0, None)) and later.throttle_active
    final = builder.build(T0 + 8 * S)
    assert final.throttle_spans == ((1.0, 4.0), (2.0, 6.0)) and not final.throttle_active
