"""The words every layer shares, defined once: backend states, result statuses, event kinds, roles, tones.

Each member carries what every renderer needs (its text, glyph and *tone*). A tone is a semantic colour
(good, warn, bad, …): the TUI maps tones to Textual theme variables (`tui.fmt`), the report to Rich colours
(`report.style`), so a new status or event kind is one line here and every view shows it.

The enums subclass `str`, so a member equals its value (``Status.FAILED == "failed"``), JSON-serialises as
that value, and values read from older session files compare equal without conversion.
"""

from __future__ import annotations

from enum import Enum


class Tone(str, Enum):
    """A semantic colour: how a state should look, whatever the medium."""

    GOOD = "good"
    WARN = "warn"
    BAD = "bad"
    INFO = "info"
    NOTE = "note"
    MUTED = "muted"
    STRONG = "strong"
    PLAIN = "plain"

    def __str__(self) -> str:
        return self.value


class Status(str, Enum):
    """Where one backend is in a run (`records.BackendInfo.status`): set by the runner, stored in the session."""

    PENDING = "pending"
    LOADING = "loading"
    LOADED = "loaded"
    WARMUP = "warmup"
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"
    # Written as final states by sessions of schema 1; read, never written now.
    OK = "ok"
    DEGRADED = "degraded"

    def __str__(self) -> str:
        return self.value

    @property
    def text(self) -> str:
        """The words a user reads for this state."""
        return _STATUS_TEXT[self]

    @property
    def tone(self) -> Tone:
        """How this state looks."""
        return _STATUS_TONE[self]

    @property
    def measuring(self) -> bool:
        """Loaded and taking part in the measured schedule (warm-up, its turn, or waiting for it)."""
        return self in (Status.WARMUP, Status.RUNNING, Status.WAITING)

    @property
    def final(self) -> bool:
        """The backend will not change state again in this run."""
        return self in (Status.DONE, Status.STOPPED, Status.FAILED, Status.OK, Status.DEGRADED)

    @classmethod
    def parse(cls, value: object) -> Status:
        """The member for a stored value; an unknown value (a newer writer) reads as PENDING."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.PENDING


_STATUS_TEXT = {
    Status.PENDING: "waiting to load",
    Status.LOADING: "loading…",
    Status.LOADED: "loaded",
    Status.WARMUP: "warm-up",
    Status.WAITING: "waiting its turn",
    Status.RUNNING: "running",
    Status.DONE: "done",
    Status.STOPPED: "stopped by the user",
    Status.FAILED: "failed",
    Status.OK: "done",
    Status.DEGRADED: "done (degraded)",
}
_STATUS_TONE = {
    Status.PENDING: Tone.MUTED,
    Status.LOADING: Tone.INFO,
    Status.LOADED: Tone.INFO,
    Status.WARMUP: Tone.INFO,
    Status.WAITING: Tone.WARN,
    Status.RUNNING: Tone.GOOD,
    Status.DONE: Tone.STRONG,
    Status.STOPPED: Tone.NOTE,
    Status.FAILED: Tone.BAD,
    Status.OK: Tone.STRONG,
    Status.DEGRADED: Tone.WARN,
}


class Verdict(str, Enum):
    """A backend's result in a report: what its numbers are worth."""

    OK = "ok"
    DEGRADED = "degraded"  # measured, but not what was asked (fallback provider, parity beyond tolerance, …)
    STOPPED = "stopped"  # stopped by the user: partial
    NOT_STARTED = "not started"  # never measured: the run ended (interrupted, or before its turn) first
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def tone(self) -> Tone:
        """Failed is bad; stopped, degraded and not started are partial, not errors."""
        return {Verdict.OK: Tone.GOOD, Verdict.FAILED: Tone.BAD}.get(self, Tone.WARN)

    @property
    def competes(self) -> bool:
        """Whether a backend with this verdict can be called fastest or a winner."""
        return self in (Verdict.OK, Verdict.DEGRADED, Verdict.STOPPED)

    @classmethod
    def parse(cls, value: object) -> Verdict:
        """The member for a stored value; an unknown value reads as FAILED (never silently ok)."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.FAILED


class EventKind(str, Enum):
    """What a `records.RunEvent` is about; its glyph and tone are how every view marks it."""

    RUN_START = "run_start"
    RUN_END = "run_end"
    STATUS = "status"
    WARMUP_END = "warmup_end"
    ENGINE_ERROR = "engine_error"
    MARK = "mark"
    SPIKE = "spike"
    DRIFT = "drift"
    STEP = "step"
    THROTTLE_ON = "throttle_on"
    THROTTLE_OFF = "throttle_off"
    PAUSE = "pause"
    RESUME = "resume"
    SENSOR = "sensor"
    GC = "gc"
    DETECTION = "detection"
    LOG = "log"  # a warning infbench logged during the run (kept in the session)

    def __str__(self) -> str:
        return self.value

    @property
    def glyph(self) -> str:
        """One character that marks the event on timelines and in the event list."""
        return _EVENT_STYLE[self][0]

    @property
    def tone(self) -> Tone:
        """How the event looks."""
        return _EVENT_STYLE[self][1]

    @property
    def bold(self) -> bool:
        """Whether the event is drawn emphasised (errors, spikes, throttling, marks)."""
        return self in (EventKind.SPIKE, EventKind.THROTTLE_ON, EventKind.ENGINE_ERROR, EventKind.MARK)

    @classmethod
    def parse(cls, value: object) -> EventKind | None:
        """The member for a stored kind, or None for a kind this version does not know."""
        try:
            return cls(str(value))
        except ValueError:
            return None


_EVENT_STYLE: dict[EventKind, tuple[str, Tone]] = {
    EventKind.RUN_START: ("●", Tone.GOOD),
    EventKind.RUN_END: ("■", Tone.GOOD),
    EventKind.STATUS: ("·", Tone.PLAIN),
    EventKind.WARMUP_END: ("◆", Tone.INFO),
    EventKind.ENGINE_ERROR: ("✗", Tone.BAD),
    EventKind.MARK: ("⚑", Tone.NOTE),
    EventKind.SPIKE: ("▲", Tone.BAD),
    EventKind.DRIFT: ("↗", Tone.WARN),
    EventKind.STEP: ("↗", Tone.WARN),
    EventKind.THROTTLE_ON: ("!", Tone.BAD),
    EventKind.THROTTLE_OFF: ("✓", Tone.GOOD),
    EventKind.PAUSE: ("⏸", Tone.WARN),
    EventKind.RESUME: ("▶", Tone.GOOD),
    EventKind.SENSOR: ("·", Tone.MUTED),
    EventKind.GC: ("♻", Tone.MUTED),
    EventKind.DETECTION: ("?", Tone.WARN),
    EventKind.LOG: ("⚠", Tone.WARN),
}


class Role(str, Enum):
    """What a variant is for, besides being measured. Declared by the engine or given by the plan; stored in
    the session with the variant, so analysis and views read roles, never engine names or label suffixes."""

    CONTROL = "control"  # measures the harness itself: shown, never fastest, never a winner, no parity
    AA_TWIN = "aa-twin"  # a second run of another variant (`twin_of`), for the machine's own noise band

    def __str__(self) -> str:
        return self.value
