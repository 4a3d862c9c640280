"""`TokenClock`: stamps each generated token with the run's clock, inside the engine child.

A transformers streamer (``model.generate(..., streamer=clock)``): `generate` calls ``put`` once with the prompt,
then once per decoding step with that step's new token(s) — one per batch row, all produced by the same forward
pass, so one stamp per step. `take` returns the step stamps of the last call (``time.perf_counter_ns``, the clock
of every other timestamp in a run): time to first token = ``stamps[0] - call start``, inter-token gaps =
``diff(stamps)``. Backends with their own streamer callback (OpenVINO GenAI) call `stamp` from it.
"""

from __future__ import annotations

import time

import numpy as np


class TokenClock:
    """Per-step token stamps of one generate call; pass as ``streamer=`` or call `stamp` per step."""

    def __init__(self, skip_prompt: bool = True) -> None:
        self._skip_prompt = skip_prompt
        self._prompt_seen = False
        self._stamps: list[int] = []

    def put(self, value: object) -> None:
        """transformers streamer hook: the prompt first (skipped), then each step's new tokens."""
        t = time.perf_counter_ns()
        if self._skip_prompt and not self._prompt_seen:
            self._prompt_seen = True
            return
        self._stamps.append(t)

    def end(self) -> None:
        """transformers streamer hook: generation finished."""
        return None

    def stamp(self) -> None:
        """Record one decoding step now (for backends whose callback is not a transformers streamer)."""
        self._stamps.append(time.perf_counter_ns())

    def take(self) -> np.ndarray:
        """The step stamps since the last `take` (int64 ns), and reset for the next call."""
        out = np.array(self._stamps, dtype=np.int64)
        self._stamps = []
        self._prompt_seen = False
        return out
