"""A toy engine written as one module: its own options, registered through $INFBENCH_ENGINE_PLUGINS.

It is what a new backend looks like: an `Engine` subclass declaring its `EngineInfo` (options included). When
its backend is imported — in a worker child only — it appends the child's pid to the file named by
$INFBENCH_TOY_MARKER, so a test can prove that no child was started for a refused option.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

MARKER_ENV = "INFBENCH_TOY_MARKER"


class ToyEngine(Engine):
    """Busy-waits `delay_us` per call; `mode` picks what its output is (a: zeros, b: ones)."""

    info = EngineInfo(
        name="toy",
        description="test: a toy engine with its own options",
        needs="onnx",
        options=OptionSchema(
            (
                Option("delay_us", "int", "busy-wait per call, microseconds", default=50, minimum=0),
                Option("mode", "choice", "what the output is", choices=("a", "b"), default="a"),
            )
        ),
    )

    @classmethod
    def import_backend(cls) -> None:
        """The toy's "backend import": leave a trace that a child process started."""
        marker = os.environ.get(MARKER_ENV)
        if marker:
            with open(marker, "a", encoding="ascii") as fh:
                fh.write(f"{os.getpid()}\n")

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Check the model's ONNX file is there; keep the typed options."""
        if not model.onnx_path or not os.path.isfile(model.onnx_path):
            raise EngineLoadError(f"toy needs an ONNX file and model {model.name} has none")
        self.delay_ns = int(options["delay_us"]) * 1000
        self.out = (np.ones if options["mode"] == "b" else np.zeros)(4, dtype=np.float32)
        return LoadResult(providers=["toy"], details={"options": dict(options)})

    def run(self, prepared: Any) -> Any:
        """Busy-wait the delay."""
        end = time.perf_counter_ns() + self.delay_ns
        while time.perf_counter_ns() < end:
            pass
        return self.out

    def first_output(self, result: Any) -> np.ndarray:
        """The constant output."""
        return np.asarray(result, dtype=np.float32)
