"""A variant that uses every core is called out in the live view: a badge in the header and the whole warning
of `analysis.contention` as the first event; a plan that leaves a core free shows neither."""

from __future__ import annotations

import asyncio

import numpy as np

from infbench.analysis.contention import every_core_warning
from infbench.records import BackendInfo, SampleBlock
from infbench.sessions.store import LiveStore
from infbench.tui.app import InfbenchApp
from infbench.tui.snapshot import SnapshotBuilder
from infbench.tui.widgets.events import EventsLog
from infbench.tui.widgets.header import RunHeader
from infbench.vocab import EventKind, Role
from tests.tui.screen import widget_text

T0 = 1_000_000_000_000


def _store(ort_options: dict[str, object]) -> LiveStore:
    """onnxruntime (with `ort_options`) and the null control on a 4-core machine, a few calls each."""
    plan = {
        "model": "bert-tiny",
        "backends": [
            {"label": "onnxruntime", "backend": "onnxruntime", "options": ort_options},
            {"label": "null", "backend": "null", "options": {}, "roles": [Role.CONTROL.value]},
        ],
    }
    store = LiveStore()
    store.on_start(plan, {"logical_cores": 4}, T0, 0.0)
    for label, engine, roles in (("onnxruntime", "onnxruntime", []), ("null", "null", [Role.CONTROL.value])):
        store.on_backend(BackendInfo(label, engine, {}, status="running", roles=roles))
        start = T0 + np.arange(20, dtype=np.int64) * 1_000_000
        store.on_samples(
            SampleBlock(label, "measure", start, np.full(20, 500_000, np.int64), np.zeros(20, np.int32))
        )
    return store


def test_every_core_warning_is_a_header_badge_and_the_first_event() -> None:
    store = _store({})
    expected = every_core_warning(store.plan, store.system, store.backend_infos())
    assert len(expected) == 1 and "onnxruntime" in expected[0] and "null" not in expected[0]
    snap = SnapshotBuilder(store).build()
    assert snap.notes == tuple(expected)
    first = snap.events[0]
    assert (first.kind, first.t_ns, first.message) == (EventKind.LOG, T0, expected[0])
    app = InfbenchApp(data=store, session="every-core", start_s=0.01, playing=False)

    async def drive() -> None:
        async with app.run_test(size=(200, 46)) as pilot:
            await pilot.pause(0.3)
            header = widget_text(app, app.screen.query_one(RunHeader))
            assert "⚠ every core in use" in header.splitlines()[0]
            events = " ".join(widget_text(app, app.screen.query_one(EventsLog)).split())
            assert expected[0] in events  # the whole warning, word-wrapped

    asyncio.run(drive())


def test_no_warning_when_a_core_is_left_free() -> None:
    snap = SnapshotBuilder(_store({"threads": 1})).build()
    assert snap.notes == () and all(e.kind != EventKind.LOG for e in snap.events)
