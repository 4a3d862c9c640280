"""The `null` engine: a no-op control that measures the harness itself (timer + loop + call overhead)."""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.engines.base import Engine, LoadResult, ModelFiles


class NullEngine(Engine):
    """Does nothing per call; its latency distribution is the floor every other backend sits on."""

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Nothing to load."""
        self._out = np.zeros(1, dtype=np.float32)
        return LoadResult(providers=["none"], versions={"numpy": np.__version__})

    def run(self, prepared: Any) -> Any:
        """Return immediately."""
        return None

    def first_output(self, result: Any) -> np.ndarray:
        """A constant (null has no outputs; parity is not checked for it)."""
        return self._out
