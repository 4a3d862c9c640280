"""Checks between the workload and the engines and model, before anything spawns: ``--task generate`` needs a
causal LM and engines that generate; an engine that takes raw texts (a transformers ``pipeline``) needs
``--corpus``. Each refusal is one line naming what would do."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from infbench.errors import BackendUnavailable, ConfigError
from infbench.plan.spec import BackendSpec

log = logging.getLogger(__name__)

CAUSAL_LM = "causal-lm"


def check_engines_for_workload(
    model: str, specs: tuple[BackendSpec, ...], workload: Mapping[str, Any]
) -> None:
    """Refuse a workload the variants or the model cannot run (one line, ConfigError).

    Controls (the null engine) run any workload: they measure the harness, not a model.
    """
    from infbench.engines.registry import engine_info

    engines = [s for s in specs if not s.is_control]
    if workload.get("corpus") is None:
        for spec in engines:
            if engine_info(spec.backend).takes_text:
                raise ConfigError(
                    f"--backend {spec.backend} takes texts and tokenizes them itself: give --corpus builtin|FILE"
                )
    if workload.get("task") != "generate":
        only = sorted({s.backend for s in engines if not engine_info(s.backend).prefills})
        if only:
            raise ConfigError(f"--backend {', '.join(only)} only generates: add --task generate")
        return
    cannot = sorted({s.backend for s in engines if not engine_info(s.backend).generates})
    if cannot:
        able = generating_engines()
        raise ConfigError(
            f"--task generate: {', '.join(cannot)} cannot generate; engines that can: {', '.join(able) or 'none'}"
            " (or --task prefill)"
        )
    if not engines:
        return
    task, max_positions = model_task(model)
    if task != CAUSAL_LM:
        what = "an .onnx file" if task is None else f"a {task} model"
        raise ConfigError(
            f"--task generate needs a causal language model (e.g. gpt2-tiny, or a local Hugging Face "
            f"directory of a …ForCausalLM), and {_name(model)} is {what}"
        )
    total = int(workload.get("prompt_len") or 0) + int(workload.get("new_tokens") or 0)
    if max_positions is not None and total > max_positions:
        raise ConfigError(
            f"--prompt-len + --new-tokens = {total} exceeds the model's maximum of {max_positions} positions"
        )


def generating_engines() -> list[str]:
    """Registered engines that declare ``generates``."""
    from infbench.engines.registry import engine_info, engine_names

    out = []
    for name in engine_names():
        try:
            if engine_info(name).generates:
                out.append(name)
        except BackendUnavailable:
            continue  # a broken plugin: the registry logged why
    return out


def refuse_remote_code(model: str) -> None:
    """ConfigError when `model` is a Hugging Face directory whose config.json asks for remote code (``auto_map``):
    every engine loads local directories with ``trust_remote_code=False`` and offline, so such a model could only
    fail in its child after seconds of imports; refused here, before anything starts. A bad model argument or an
    unreadable config.json is left to model resolution."""
    from infbench.engines.models import resolve_model
    from infbench.errors import ModelError

    try:
        src = resolve_model(model)
    except ModelError:
        return
    if src.kind != "hf" or not src.path:
        return
    try:
        with open(os.path.join(src.path, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return
    auto_map = config.get("auto_map") if isinstance(config, dict) else None
    if auto_map:
        classes = ", ".join(sorted(auto_map)) if isinstance(auto_map, dict) else "auto_map"
        raise ConfigError(
            f"{_name(model)} asks for remote code (config.json auto_map: {classes}); infbench never runs code from "
            "a model directory (trust_remote_code is off): use a model whose architecture transformers ships"
        )


def model_task(model: str) -> tuple[str | None, int | None]:
    """(task, maximum positions) of a model argument without loading it: a built-in's declaration, a Hugging
    Face directory's config.json (its architectures); (None, None) for an .onnx file. A bad model argument is
    left to model resolution: ModelError."""
    from infbench.engines import _modelcache as mc
    from infbench.engines.models import resolve_model

    src = resolve_model(model)
    if src.kind == "builtin" and src.builtin is not None:
        config = src.builtin.config
        return src.builtin.task, _positions(config)
    if src.kind == "hf" and src.path:
        try:
            with open(os.path.join(src.path, "config.json"), encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{_name(model)}: config.json cannot be read ({exc})") from None
        archs = config.get("architectures") if isinstance(config, dict) else None
        task = mc.task_from_architectures([str(a) for a in archs or []])
        return task, _positions(config) if isinstance(config, dict) else None
    return None, None


def _positions(config: Mapping[str, Any]) -> int | None:
    for key in ("n_positions", "max_position_embeddings"):
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _name(model: str) -> str:
    return os.path.basename(model.rstrip(os.sep)) or model
