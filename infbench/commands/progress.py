"""Headless progress: one Rich progress bar per backend, fed by RunListener callbacks."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from infbench.records import PHASE_MEASURE, BackendInfo, RunEvent, SampleBlock


class HeadlessProgress:
    """A RunListener that shows per-backend progress (measured turn seconds vs --duration) and running p50."""

    def __init__(self, console: Console, labels: list[str], duration_s: float, iterations: int) -> None:
        self.console = console
        self.duration_s = duration_s
        self.iterations = iterations
        self.progress = Progress(
            TextColumn("{task.fields[label]:<16}"), BarColumn(), TextColumn("{task.fields[status]:<9}"),
            TextColumn("{task.fields[calls]:>9} calls"), TextColumn("p50 {task.fields[p50]}"),
            TimeElapsedColumn(), console=console, transient=False, refresh_per_second=4,
        )
        self._lock = threading.Lock()
        self._busy: dict[str, float] = {lab: 0.0 for lab in labels}
        self._calls: dict[str, int] = {lab: 0 for lab in labels}
        self._tasks = {
            lab: self.progress.add_task("", total=1.0, label=lab, status="pending", calls=0, p50="—")
            for lab in labels
        }

    def __enter__(self) -> HeadlessProgress:  # noqa: PYI034 - Self needs Python 3.11
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_samples(self, block: SampleBlock) -> None:
        """Advance the backend's bar by the measured time in the block."""
        if block.phase != PHASE_MEASURE or len(block) == 0 or block.backend not in self._tasks:
            return
        with self._lock:
            # the block's span ≈ the turn time it covers (what the duration rule counts)
            self._busy[block.backend] += float(block.start_ns[-1] + block.dur_ns[-1] - block.start_ns[0]) / 1e9
            self._calls[block.backend] += len(block)
            busy, calls = self._busy[block.backend], self._calls[block.backend]
        frac = min(busy / self.duration_s, calls / self.iterations, 1.0)
        p50 = f"{float(np.median(block.dur_ns)) / 1e6:8.3f} ms"
        self.progress.update(self._tasks[block.backend], completed=frac, calls=calls, p50=p50)

    def on_backend(self, info: BackendInfo) -> None:
        """Show the backend's status."""
        if info.label in self._tasks:
            done = info.status in ("done", "failed", "stopped")
            fields: dict[str, Any] = {"status": info.status}
            if done:
                fields["completed"] = 1.0
            self.progress.update(self._tasks[info.label], **fields)

    def on_event(self, event: RunEvent) -> None:
        """Print errors and sensor notices above the bars."""
        if event.kind == "engine_error":
            self.console.print(f"[red]✗ {event.message}[/red]")
        elif event.kind in ("throttle_on", "throttle_off", "spike", "step", "drift"):
            self.console.print(f"[yellow]⚠ {event.message}[/yellow]")


class PrepareProgress:
    """Prints preparation steps (model build, ONNX export, loading) as dim lines."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, message: str) -> None:
        self.console.print(f"[dim]· {message}[/dim]")
