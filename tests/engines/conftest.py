"""Fixtures for engine tests: a private model cache for the session and the built-in bert-tiny built once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infbench.engines.base import ModelFiles


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh INFBENCH_CACHE_DIR for the session (never the user's cache); restored afterwards."""
    old = os.environ.get("INFBENCH_CACHE_DIR")
    path = str(tmp_path_factory.mktemp("model-cache"))
    os.environ["INFBENCH_CACHE_DIR"] = path
    yield path
    if old is None:
        os.environ.pop("INFBENCH_CACHE_DIR", None)
    else:
        os.environ["INFBENCH_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tiny_build(cache_dir: str) -> tuple[ModelFiles, list[str]]:
    """bert-tiny built from scratch in the session cache (HF dir + ONNX), and the progress lines it printed."""
    from infbench.engines.models import prepare_model

    lines: list[str] = []
    model = prepare_model("bert-tiny", need_onnx=True, need_hf=True, progress=lines.append)
    return model, lines


@pytest.fixture(scope="session")
def tiny(tiny_build: tuple[ModelFiles, list[str]]) -> ModelFiles:
    """The prepared bert-tiny."""
    return tiny_build[0]
