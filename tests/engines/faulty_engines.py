"""Engines that misbehave on purpose, loaded into real worker children through INFBENCH_ENGINE_PLUGINS."""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

import numpy as np

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles


class _Counting(Engine):
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


class SkewedOrtEngine:
    """ONNX Runtime with its outputs shifted by 0.5: a backend whose results disagree with the reference."""

    def __new__(cls):  # built lazily so importing this module does not import onnxruntime
        from infbench.engines.onnxruntime import OnnxRuntimeEngine

        class _Skewed(OnnxRuntimeEngine):
            def first_output(self, result: Any) -> np.ndarray:
                return super().first_output(result) + 0.5

        return _Skewed()
