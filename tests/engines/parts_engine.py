"""A toy engine with call parts and token stamps, registered through $INFBENCH_ENGINE_PLUGINS in tests.

Each call busy-waits two stages (``first``, ``second``: `first_us` and `second_us` microseconds) and reports
them as call parts; with ``tokens`` > 0 it also "generates" 1 + (input index mod `tokens`) steps, stamping each
with `TokenClock` — what a generating engine does — so the per-call token counts vary with the input.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from infbench.engines._tokenclock import TokenClock
from infbench.engines.base import Engine, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema


def _spin(ns: int) -> None:
    end = time.perf_counter_ns() + ns
    while time.perf_counter_ns() < end:
        pass


class PartsEngine(Engine):
    """Two timed stages per call (its parts) and, optionally, stamped decoding steps (its tokens)."""

    info = EngineInfo(
        name="parts",
        description="test: call parts and token stamps",
        needs="none",
        options=OptionSchema(
            (
                Option("first_us", "int", "first stage per call, µs", default=100, minimum=0),
                Option("second_us", "int", "second stage per call, µs", default=300, minimum=0),
                Option("tokens", "int", "steps per call cycle (0: no tokens)", default=0, minimum=0),
                Option("broken", "bool", "take_parts returns one value too few", default=False),
            )
        ),
    )

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Keep the options."""
        self.first_ns = int(options["first_us"]) * 1000
        self.second_ns = int(options["second_us"]) * 1000
        self.steps = int(options["tokens"])
        self.clock = TokenClock(skip_prompt=False)
        self.last = (0, 0)
        self.broken = bool(options["broken"])
        return LoadResult(providers=["toy"], details={"inputs": len(self.workload_inputs)})

    def prepare_all(self, inputs: list[dict[str, np.ndarray]]) -> list[Any]:
        """Each input becomes its position in the cycle."""
        return list(range(len(inputs)))

    def call_parts(self) -> tuple[str, ...]:
        """The two stages."""
        return ("first", "second")

    def take_parts(self) -> tuple[int, ...]:
        """The last call's stage durations."""
        return self.last[:1] if self.broken else self.last

    def emits_tokens(self) -> bool:
        """Only with ``tokens`` > 0."""
        return self.steps > 0

    def take_tokens(self) -> np.ndarray:
        """The last call's step stamps."""
        return self.clock.take()

    def run(self, prepared: Any) -> Any:
        """Spin both stages, stamping steps during the second."""
        t0 = time.perf_counter_ns()
        _spin(self.first_ns)
        t1 = time.perf_counter_ns()
        if self.steps:
            n = 1 + int(prepared) % self.steps
            for _ in range(n):
                _spin(self.second_ns // n)
                self.clock.stamp()
        else:
            _spin(self.second_ns)
        self.last = (t1 - t0, time.perf_counter_ns() - t1)
        return prepared

    def first_output(self, result: Any) -> np.ndarray:
        """A constant."""
        return np.zeros(2, np.float32)
