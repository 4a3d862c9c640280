"""Values that cross boundaries: engine hosts, monitors, recorder, analysis and the TUI all speak these.

Every timestamp is `time.perf_counter_ns()` (CLOCK_MONOTONIC on Linux, comparable across processes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

PHASE_WARMUP = "warmup"
PHASE_MEASURE = "measure"


@dataclass(frozen=True)
class SampleBlock:
    """A block of timed calls of one backend, shipped by its worker about every 50 ms.

    Attributes:
        backend: the backend label (unique within a run, e.g. ``onnxruntime`` or ``onnxruntime#2``).
        phase: ``warmup`` or ``measure``.
        start_ns: int64 perf_counter_ns at the start of each call.
        dur_ns: int64 duration of each call in ns.
        input_idx: int32 index of the input used by each call (into the run's input cycle).
        parts: per-call sub-timings of engines that report them (`Engine.call_parts`): part name → int64[n] ns,
            in call order; empty for other engines.
        tokens: int64 perf_counter_ns stamps of every decoding step of the block's calls, flat, call after
            call (`Engine.emits_tokens`); None for engines that do not generate.
        token_counts: int32[n] stamps per call (they split `tokens`); None when `tokens` is.
    """

    backend: str
    phase: str
    start_ns: np.ndarray
    dur_ns: np.ndarray
    input_idx: np.ndarray
    parts: Mapping[str, np.ndarray] = field(default_factory=dict)
    tokens: np.ndarray | None = None
    token_counts: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.start_ns.shape[0])


@dataclass(frozen=True)
class TurnRecord:
    """One turn of one backend: the span in which its worker ran calls on the scheduler's command.

    Turns are the scheduler's unit (``plan.block_s`` each in the interleaved schedule; warm-up is one turn per
    backend). Statistics resample by turn, and the duty cycle ``busy_ns / (end_ns - start_ns)`` or the idle
    time between calls inside a turn reveal a harness slowing the engine down.

    Attributes:
        backend: the backend label.
        phase: ``warmup`` or ``measure``.
        start_ns: perf_counter_ns when the worker began the turn (before its first call starts).
        end_ns: perf_counter_ns when the worker ended the turn (after its last call ended).
        calls: number of calls made in the turn.
        busy_ns: total time inside those calls (the sum of their durations).
    """

    backend: str
    phase: str
    start_ns: int
    end_ns: int
    calls: int
    busy_ns: int


@dataclass(frozen=True)
class RunEvent:
    """Something that happened at an instant: warm-up end, engine error, user mark, spike, throttle on/off.

    Attributes:
        t_ns: perf_counter_ns when it happened.
        kind: short machine-readable kind: a `vocab.EventKind` value (its glyph and tone are defined there).
        message: one human-readable line.
        backend: the backend label it concerns, if any.
        data: JSON-serialisable details.
    """

    t_ns: int
    kind: str
    message: str
    backend: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitorReading:
    """One sample of one monitor: flat metric name → number (a string for names, None when unreadable now).

    Metric names are dotted, e.g. ``cpu.util.total``, ``cpu.util.0``, ``mem.available_mb``,
    ``gpu0.sm_clock_mhz``, ``gpu0.clock_event_reasons``, ``proc.onnxruntime.rss_mb``.
    """

    t_ns: int
    source: str
    values: dict[str, float | str | None]


@dataclass
class BackendInfo:
    """What is known about one backend of a run: its configuration, load facts and final state.

    Mutable on purpose: the host fills it in as the engine loads and runs; listeners get copies.
    """

    label: str
    backend: str
    options: dict[str, Any]
    status: str = "pending"  # pending|loading|warmup|running|waiting|done|ok|degraded|failed|stopped
    error: str | None = None
    degraded_reasons: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    load_ms: float | None = None
    first_inference_ms: float | None = None
    rss_after_load_mb: float | None = None
    rss_peak_mb: float | None = None
    model_size_mb: float | None = None
    parity: dict[str, Any] | None = None
    # While loading: the load phase under way (`engines.base.LOAD_PHASES`: start, import, read, compile,
    # first inference) and the perf_counter_ns when it began (the run's clock); None once loaded or failed.
    load_phase: str | None = None
    load_phase_t_ns: int | None = None
    # `vocab.Role` values of this variant (``control``, ``aa-twin``), copied from its BackendSpec; `twin_of` is
    # the label of the variant an A/A twin repeats.
    # What the engine reported about its effective configuration after loading (threads, streams, precision…).
    details: dict[str, Any] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    twin_of: str | None = None

    @property
    def is_control(self) -> bool:
        """A harness control (the null engine): shown, never a winner, no parity."""
        return "control" in self.roles

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BackendInfo:
        """Inverse of `to_dict`; unknown keys are ignored (forward compatibility)."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class RunListener(Protocol):
    """Receives everything a run produces. Called from engine-host and sampler threads: be thread-safe and fast."""

    def on_start(self, plan: dict[str, Any], system: dict[str, Any], t0_ns: int, t0_wall: float) -> None:
        """The run begins: its plan (`RunPlan.to_dict()`), system fingerprint and clock origin."""

    def on_backend(self, info: BackendInfo) -> None:
        """A backend's info changed (status, load facts, parity, final state)."""

    def on_samples(self, block: SampleBlock) -> None:
        """A block of timed calls arrived."""

    def on_monitor(self, readings: list[MonitorReading]) -> None:
        """Monitor readings from one sampler tick."""

    def on_event(self, event: RunEvent) -> None:
        """An event happened."""

    def on_turn(self, turn: TurnRecord) -> None:
        """A backend finished a turn (warm-up or measure); its sample blocks were delivered before this."""

    def on_finish(self, outcome: str) -> None:
        """The run ended: ``complete``, ``interrupted`` or ``failed``."""


class Fanout:
    """A RunListener that forwards every call to several listeners, in order."""

    def __init__(self, *listeners: Any) -> None:
        self.listeners = [x for x in listeners if x is not None]

    def add(self, listener: Any) -> None:
        """Add one more listener."""
        self.listeners.append(listener)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> None:
            for listener in self.listeners:
                method = getattr(listener, name, None)
                if method is not None:
                    method(*args, **kwargs)

        return call
