"""Engines that misbehave on purpose, loaded into real worker children through INFBENCH_ENGINE_PLUGINS."""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

import numpy as np

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.onnxruntime import OnnxRuntimeEngine
from infbench.engines.options import Option, OptionSchema


class _Counting(Engine):
    info = EngineInfo(
        name="faulty",  # registered under each plugin's own name
        description="test: an engine that misbehaves on purpose",
        options=OptionSchema(
            (Option("after", "int", "calls before it misbehaves (ms per call: slow)", minimum=0),)
        ),
    )

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        self.calls = 0
        self.after = int(options.get("after", 50))
        return LoadResult(providers=["test"])

    def first_output(self, result: Any) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)


class SegfaultEngine(_Counting):
    """Dereferences NULL after `after` calls (a real SIGSEGV)."""

    def run(self, prepared: Any) -> Any:
        self.calls += 1
        if self.calls > self.after:
            ctypes.string_at(0)
        return None


class AbortEngine(_Counting):
    """Calls abort() after `after` calls (SIGABRT, as a failing C++ assertion would)."""

    def run(self, prepared: Any) -> Any:
        self.calls += 1
        if self.calls > self.after:
            os.abort()
        return None


class HangEngine(_Counting):
    """Blocks forever after `after` calls."""

    def run(self, prepared: Any) -> Any:
        self.calls += 1
        if self.calls > self.after:
            time.sleep(3600)
        return None


class LoadFailEngine(_Counting):
    """Refuses to load with a clear message."""

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        raise EngineLoadError("this engine cannot load anything (test)")

    def run(self, prepared: Any) -> Any:
        return None


class RaiseEngine(_Counting):
    """Raises a Python exception after `after` calls."""

    def run(self, prepared: Any) -> Any:
        self.calls += 1
        if self.calls > self.after:
            raise RuntimeError("boom from the engine")
        return None


class SlowEngine(_Counting):
    """Sleeps `ms` per call: a stand-in with a known latency."""

    def run(self, prepared: Any) -> Any:
        time.sleep(self.after / 1000.0)
        return None


class SkewedOrtEngine(OnnxRuntimeEngine):
    """ONNX Runtime with its outputs shifted by 0.5: a backend whose results disagree with the reference.

    Inherits ONNX Runtime's `info` (its options, ``needs=onnx``); importing this module stays cheap, as
    onnxruntime is only imported when the engine loads.
    """

    def first_output(self, result: Any) -> np.ndarray:
        return super().first_output(result) + 0.5
