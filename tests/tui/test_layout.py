"""The dashboard adapts to the terminal: at 80×24 (compact: table, selected panel, views) and with four
panels at 160 columns (side by side, statistics re-flowed) every number and the whole crash reason can be read
on screen. Checked on the rendered screen text, against numbers formatted from the snapshot shown."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable

import pytest

from infbench.metrics import fmt_count, fmt_ms, fmt_rate
from infbench.tui.app import InfbenchApp
from infbench.tui.screens.replay import ReplayScreen
from infbench.tui.widgets.backend_panel import BackendPanel
from infbench.tui.widgets.backend_table import BackendTable
from infbench.tui.widgets.events import EventsLog
from infbench.tui.widgets.histogram import LatencyHistogram
from infbench.tui.widgets.monitor_panel import MonitorPanel
from tests.tui.screen import screen_lines, widget_text
from tests.tui.synthetic import synthetic_store

REASON = (
    "torch: engine process died while running: killed by signal 9 (SIGKILL, likely the out-of-memory "
    "killer); its last output: RuntimeError: [enforce fail at alloc_cpu.cpp:114] data. "
    "DefaultCPUAllocator: not enough memory: you tried to allocate 9437184 bytes"
)
RANGE_ROW = re.compile(r"^\d[\d.]* (ms|µs|ns|s) +▲median ▲p95 ▲p99 +\d[\d.]* (ms|µs|ns|s)$")


def _flat(text: str) -> str:
    """Whitespace-normalised text (word-wrapped lines joined)."""
    return " ".join(text.split())


def _app(start_s: float = 1000.0) -> InfbenchApp:
    """A paused replay of the synthetic run whose torch crashed with `REASON`, at its end by default."""
    return InfbenchApp(
        data=synthetic_store(crash=REASON), session="synthetic", start_s=start_s, playing=False
    )


async def _until(pilot, cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await pilot.pause(0.02)


async def _settled(pilot) -> ReplayScreen:
    """Until the exact final statistics are shown and drawn (a few frames later)."""
    scr = pilot.app.screen
    assert isinstance(scr, ReplayScreen)
    await _until(
        pilot,
        lambda: (
            scr.last_snapshot is not None
            and scr.builder.final_ready
            and any(b.final for b in scr.last_snapshot.backends)
        ),
        "the final statistics",
    )
    ticks = scr.ticks + 3
    await _until(pilot, lambda: scr.ticks >= ticks, "a few frames")
    return scr


def _numbers(b) -> dict[str, str]:
    cv = "—" if math.isnan(b.cv) else f"{b.cv * 100:.1f}%"
    return {
        "p50": f"median {fmt_ms(b.p50_ms)}",  # the panel's headings are the metric registry's labels
        "p95": f"p95 {fmt_ms(b.p95_ms)}",
        "p99": f"p99 {fmt_ms(b.p99_ms)}",
        "rate": fmt_rate(b.throughput),
        "cv": f"CV {cv}",
        "n": f"n={b.count:,}",
    }


def test_80x24_every_number_and_the_whole_crash_reason_can_be_read() -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            scr = await _settled(pilot)
            assert scr.compact and scr.has_class("-compact")
            table = scr.query_one(BackendTable)
            snap = scr.last_snapshot
            assert [b.label for b in snap.backends] == ["onnxruntime", "openvino", "null", "torch"]
            rows = widget_text(app, table).splitlines()
            for b in snap.backends:  # the table: every backend's numbers on its own row, none cut
                row = next(r for r in rows if r.split()[:2][-1] == b.label or r.split()[0] == b.label)
                cells = [
                    fmt_ms(b.p50_ms),
                    fmt_ms(b.p95_ms),
                    fmt_ms(b.p99_ms),
                    fmt_rate(b.throughput).removesuffix("/s"),
                    fmt_count(b.count),
                ]
                assert all(c in row for c in cells), (row, cells)
                assert "…" not in row
            assert "CRASHED" in next(r for r in rows if "torch" in r)
            for i, b in enumerate(snap.backends):  # ↓ selects each backend: its panel shows it all
                if i:
                    await pilot.press("down")
                panel = next(p for p in scr.query(BackendPanel) if p.label == b.label)
                await _until(pilot, lambda p=panel: p.display and p.region.area > 0, f"{b.label}'s panel")
                await pilot.pause(0.1)
                text = widget_text(app, panel)
                assert all(v in text for v in _numbers(b).values()), (b.label, text)
                if b.status == "failed":
                    assert _flat(f"crashed: {REASON}") in _flat(text)
                assert sum(p.display for p in scr.query(BackendPanel)) == 1
            assert scr.selected_label() == "torch"  # x would stop the selected backend
            await pilot.press("3")  # events: the crash reason whole, word-wrapped
            events = scr.query_one(EventsLog)
            await _until(pilot, lambda: events.region.height > 10, "the events view")
            assert _flat(REASON) in _flat(widget_text(app, events))
            await pilot.press("2")  # machine
            monitor = scr.query_one(MonitorPanel)
            await _until(pilot, lambda: monitor.region.height > 10, "the machine view")
            assert "GPU  n/a: NVML Shared Library Not Found" in widget_text(app, monitor)
            await pilot.press("1")
            await _until(pilot, lambda: table.display and table.region.area > 0, "the backends view")

    asyncio.run(drive())


def test_four_panels_at_160_columns_show_every_number() -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(160, 44)) as pilot:
            scr = await _settled(pilot)
            assert not scr.compact and not scr.query_one(BackendTable).display
            panels = {p.label: p for p in scr.query(BackendPanel)}
            assert len(panels) == 4 and all(p.content_region.width < 40 for p in panels.values())
            torch = panels["torch"]
            scr.set_focus(None)
            await pilot.pause(0.2)
            for b in scr.last_snapshot.backends:
                text = widget_text(app, panels[b.label])
                assert all(v in text for v in _numbers(b).values()), (b.label, text)
                hist = panels[b.label].query_one(LatencyHistogram)
                label_row = widget_text(app, hist).splitlines()[-1].strip()
                assert RANGE_ROW.match(label_row), label_row  # the range labels whole, markers elsewhere
            unselected = _flat(widget_text(app, torch))
            assert "…" in unselected and _flat(REASON) not in unselected  # cut to 2 lines when unselected
            await pilot.click(torch, offset=(5, 5))  # selected: the whole reason
            await _until(pilot, lambda: torch.has_focus, "the torch panel to be selected")
            await pilot.pause(0.2)
            assert _flat(f"crashed: {REASON}") in _flat(widget_text(app, torch))
            assert scr.selected_label() == "torch"

    asyncio.run(drive())


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 31)])
def test_small_terminals_get_the_compact_layout(size: tuple[int, int]) -> None:
    app = _app(3.0)

    async def drive() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.2)
            assert app.screen.compact
            assert all(len(line) == size[0] for line in screen_lines(app))

    asyncio.run(drive())


def test_resizing_switches_layout_and_keeps_the_selected_backend() -> None:
    app = _app()

    async def drive() -> None:
        async with app.run_test(size=(160, 44)) as pilot:
            scr = await _settled(pilot)
            panel = next(p for p in scr.query(BackendPanel) if p.label == "openvino")
            panel.focus()
            await pilot.pause(0.1)
            await pilot.resize_terminal(80, 24)
            await _until(pilot, lambda: scr.compact, "the compact layout")
            await pilot.pause(0.2)
            assert scr.query_one(BackendTable).selected == "openvino" and panel.display
            assert [p.label for p in scr.query(BackendPanel) if p.display] == ["openvino"]
            await pilot.press("down")
            await pilot.resize_terminal(160, 44)
            await _until(pilot, lambda: not scr.compact, "the side-by-side layout")
            await pilot.pause(0.2)
            assert all(p.display for p in scr.query(BackendPanel))
            assert scr.selected_label() == "null"  # the table's selection is the focused panel again
            await pilot.press("2")  # view keys do nothing side by side
            assert scr.view == "backends"

    asyncio.run(drive())
