"""`ReplayScreen`: the dashboard fed from a recorded session: play/pause, speed, seek, events, scrubber."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from infbench.tui.messages import SeekTo
from infbench.tui.screens.dashboard import DashboardScreen
from infbench.tui.snapshot import Snapshot, SnapshotBuilder
from infbench.tui.widgets.scrubber import Scrubber
from infbench.vocab import EventKind

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
SEEK_S = 10.0
JUMP_KINDS = frozenset(
    {
        EventKind.WARMUP_END,
        EventKind.SPIKE,
        EventKind.DRIFT,
        EventKind.STEP,
        EventKind.THROTTLE_ON,
        EventKind.THROTTLE_OFF,
        EventKind.ENGINE_ERROR,
        EventKind.MARK,
        EventKind.PAUSE,
        EventKind.RESUME,
        EventKind.RUN_END,
        EventKind.LOG,
    }
)
"""The events n/N jump between (and the scrubber may mark)."""


class ReplayScreen(DashboardScreen):
    """Replays a session at 0.25×–32×; every frame is the same `Snapshot` the live run showed at that t."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/Pause", tooltip="Play or pause the replay"),
        Binding("left", "seek(-10)", "Back 10 s", tooltip="Seek 10 s back"),
        Binding("right", "seek(10)", "Forward 10 s", tooltip="Seek 10 s forward"),
        Binding("minus", "speed(-1)", "Slower", key_display="-", tooltip="Play slower (down to 0.25×)"),
        Binding("plus,equals_sign", "speed(1)", "Faster", key_display="+", tooltip="Play faster (up to 32×)"),
        Binding("n", "next_event", "Next event", tooltip="Jump to the next event"),
        Binding("N,b", "prev_event", "Prev event", key_display="N", tooltip="Jump to the previous event"),
        Binding("home", "seek_to(0)", "Go to start", show=False, tooltip="Jump to the start of the run"),
        Binding(
            "end",
            "seek_to_end",
            "Go to end",
            show=False,
            tooltip="Jump to the end of the run (the exact final statistics)",
        ),
        *DashboardScreen.BINDINGS,
    ]

    def __init__(
        self, data: Any, session: str, *, speed: float = 1.0, start_s: float = 0.0, playing: bool = True
    ) -> None:
        labels = list(data.backend_infos())
        super().__init__(labels, session)
        self.data = data
        self.builder = SnapshotBuilder(data, session, inline_final=False)
        self.end_ns = max(0, data.end_ns() - data.t0_ns)
        self.pos_ns = min(max(int(start_s * 1e9), 0), self.end_ns)
        self.speed = min(SPEEDS, key=lambda s: abs(s - speed))
        self.playing = playing
        self._last = time.monotonic()
        kinds = [(e.t_ns - data.t0_ns, e.kind) for e in data.events() if e.kind in JUMP_KINDS]
        self.event_times = sorted({t for t, _ in kinds})
        self.ticks_s = tuple((t / 1e9, k) for t, k in kinds)

    def extra_rows(self) -> ComposeResult:
        """The scrubber under the panels."""
        yield Scrubber(id="scrubber")

    @property
    def pos_s(self) -> float:
        """The replay position, seconds after t0."""
        return self.pos_ns / 1e9

    def _advance(self) -> None:
        """Move the position by the time played since the last frame (at the current speed)."""
        now = time.monotonic()
        if self.playing:
            self.pos_ns = min(self.pos_ns + int((now - self._last) * self.speed * 1e9), self.end_ns)
            if self.pos_ns >= self.end_ns:
                self.playing = False
        self._last = now

    def snapshot(self) -> Snapshot:
        """Advance the clock when playing and build the snapshot at the position."""
        self._advance()
        return self.builder.build(self.data.t0_ns + self.pos_ns)

    def show_header(self, snap: Snapshot | None) -> None:
        """Position / end, play state and speed, when it was recorded."""
        from infbench.tui.widgets.header import RunHeader

        state = ("▶ playing" if self.playing else "⏸ paused") + f" {self.speed:g}×"
        if snap is not None and snap.at_end:
            state = (
                f"■ run {snap.outcome}: final statistics"
                if self.builder.final_ready
                else f"■ run {snap.outcome}: computing the final statistics…"
            )
        when = ""
        if snap is not None and snap.t0_wall:
            when = "recorded " + datetime.fromtimestamp(snap.t0_wall, timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
        self.query_one(RunHeader).show(
            mode="REPLAY",
            model=snap.model if snap else "?",
            session=self.session,
            clock_s=self.pos_s,
            end_s=self.end_ns / 1e9,
            state=state,
            state_style="bold $text-success" if self.playing else "bold $text-warning",
            extra=when,
            notes=snap.notes if snap is not None else (),
        )
        self.query_one(Scrubber).show(self.pos_s, self.end_ns / 1e9, self.ticks_s)

    def seek_ns(self, pos_ns: int) -> None:
        """Jump to `pos_ns` after t0 (clamped) and redraw now."""
        self.pos_ns = min(max(int(pos_ns), 0), self.end_ns)
        self._last = time.monotonic()
        self.tick()

    def action_toggle_play(self) -> None:
        """Play or pause (playing at the end restarts from the beginning)."""
        self._advance()  # the time played since the last frame counts before pausing
        if not self.playing and self.pos_ns >= self.end_ns:
            self.pos_ns = 0
        self.playing = not self.playing
        self._last = time.monotonic()
        self.tick()

    def action_seek(self, delta_s: float) -> None:
        """Seek by `delta_s` seconds."""
        self.seek_ns(self.pos_ns + int(float(delta_s) * 1e9))

    def action_seek_to(self, t_s: float) -> None:
        """Seek to `t_s` seconds."""
        self.seek_ns(int(float(t_s) * 1e9))

    def action_seek_to_end(self) -> None:
        """Seek to the end (final statistics)."""
        self.seek_ns(self.end_ns)

    def action_speed(self, step: int) -> None:
        """Next slower/faster speed in 0.25×–32×."""
        self._advance()  # the time played so far counts at the old speed
        i = SPEEDS.index(self.speed) + int(step)
        self.speed = SPEEDS[min(max(i, 0), len(SPEEDS) - 1)]
        self.tick()

    def action_next_event(self) -> None:
        """Jump to the next event after the position."""
        later = [t for t in self.event_times if t > self.pos_ns]
        if later:
            self.seek_ns(later[0])

    def action_prev_event(self) -> None:
        """Jump to the previous event before the position."""
        earlier = [t for t in self.event_times if t < self.pos_ns]
        if earlier:
            self.seek_ns(earlier[-1])

    @on(SeekTo)
    def _on_seek(self, message: SeekTo) -> None:
        self.seek_ns(int(message.t_s * 1e9))

    def action_quit_run(self) -> None:
        """Leave the replay."""
        self.app.exit(0)
