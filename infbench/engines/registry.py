"""The engine registry: built-in engines by module path, plugins from the environment, and lookups.

Engine modules import their backend package (onnxruntime, openvino, torch) only inside methods, so the parent
imports them cheaply to read each class's `EngineInfo`. Plugins come from $INFBENCH_ENGINE_PLUGINS
(``name=module:Class[:needs]``, comma separated), read at import, so worker children — which inherit the
environment — see the same registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from infbench.engines.info import NEEDS, EngineInfo
from infbench.errors import BackendUnavailable

if TYPE_CHECKING:
    from infbench.engines.base import Engine

log = logging.getLogger(__name__)

PLUGIN_ENV = "INFBENCH_ENGINE_PLUGINS"
BUILTIN: dict[str, str] = {
    "onnxruntime": "infbench.engines.onnxruntime:OnnxRuntimeEngine",
    "openvino": "infbench.engines.openvino:OpenVinoEngine",
    "torch": "infbench.engines.torch:TorchEngine",
    "optimum-ort": "infbench.engines.optimum_ort:OptimumOrtEngine",
    "optimum-ov": "infbench.engines.optimum_ov:OptimumOvEngine",
    "ov-genai": "infbench.engines.ov_genai:OvGenAIEngine",
    "pipeline": "infbench.engines.pipeline:PipelineEngine",
    "null": "infbench.engines.null:NullEngine",
}
_targets: dict[str, str] = dict(BUILTIN)  # name → module:Class, registry order
_needs: dict[str, str] = {}  # plugin name → needs given in its registration
_infos: dict[str, EngineInfo] = {}  # name → its info, once read


def _split(target: str) -> tuple[str, str]:
    module, _, class_name = target.partition(":")
    return module, class_name


def load_engine_class(name: str) -> type[Engine]:
    """The Engine class of engine `name` (a name or alias). Cheap: backend packages load in `load`."""
    canon = canonical_backend(name)
    return _class_of(canon)


def _class_of(canon: str) -> type[Engine]:
    module_name, class_name = _split(_targets[canon])
    try:
        module = importlib.import_module(module_name)
        cls: type[Engine] = getattr(module, class_name)
        return cls
    except (ImportError, AttributeError) as exc:
        raise BackendUnavailable(
            f"engine {canon}: cannot load {_targets[canon]} ({type(exc).__name__}: {exc})"
        ) from None


def engine_info(name: str) -> EngineInfo:
    """The declared `EngineInfo` of engine `name` (a canonical name or an alias).

    Raises:
        BackendUnavailable: unknown name, or a plugin whose module or info cannot be loaded.
    """
    return _info(canonical_backend(name))


def _info(canon: str) -> EngineInfo:
    info = _infos.get(canon)
    if info is not None:
        return info
    cls = _class_of(canon)
    declared = getattr(cls, "info", None)
    if not isinstance(declared, EngineInfo):
        raise BackendUnavailable(
            f"engine {canon}: {_targets[canon]} declares no `info: EngineInfo` class attribute"
        )
    if canon not in BUILTIN:  # a plugin: its registered name is its name; aliases belong to the original
        declared = replace(declared, name=canon, aliases=())
        if canon in _needs:
            declared = replace(declared, needs=_needs[canon])
    _infos[canon] = declared
    return declared


def engine_names() -> list[str]:
    """Canonical names of every registered engine, in registry order (built-ins first)."""
    return list(_targets)


def _known_infos() -> Iterator[EngineInfo]:
    for canon in list(_targets):
        try:
            yield _info(canon)
        except BackendUnavailable as exc:
            log.warning("%s", exc)


def canonical_backend(name: str) -> str:
    """Map a name or alias to the canonical engine name; BackendUnavailable naming the choices otherwise."""
    key = str(name).strip().lower()
    if key in _targets:
        return key
    for info in _known_infos():
        if key in info.aliases:
            return info.name
    known = ", ".join(
        f"{i.name} ({'/'.join(i.aliases)})" if i.aliases else i.name
        for i in _known_infos()
        if not i.name.startswith("_")
    )
    raise BackendUnavailable(f"unknown backend {_short(name)!r}: choose from {known}")


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 40 else text[:37] + "…"


def missing_packages(name: str) -> list[str]:
    """Import names required by engine `name` that cannot be found (without importing them)."""
    return missing_imports(engine_info(name).requires)


def missing_imports(modules: tuple[str, ...] | list[str]) -> list[str]:
    """Which of the import names `modules` cannot be found (without importing them)."""
    missing = []
    for mod in modules:
        try:
            found = importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(mod)
    return missing


def installed_backends(include_control: bool = False, *, include_null: bool | None = None) -> list[str]:
    """Canonical names of the engines whose packages are installed, in registry order.

    Controls (engines with the ``control`` role) are left out unless `include_control` (`include_null` is
    its old name).
    """
    controls = include_control if include_null is None else include_null
    return [
        i.name for i in _known_infos() if (controls or not i.is_control) and not missing_imports(i.requires)
    ]


def require_backend(name: str) -> str:
    """Canonical name of `name`, raising BackendUnavailable with the pip command when it is not installed."""
    info = engine_info(name)
    missing = missing_imports(info.requires)
    if missing:
        raise BackendUnavailable(
            f"backend {info.name!r} is not installed (cannot import {', '.join(missing)}): "
            f"{info.pip_command(missing)}"
        )
    return info.name


def register_engine(name: str, target: str, needs: str | None = None) -> str:
    """Register engine class `target` (``module:Class``) under `name`; its info is read from the class.

    Raises:
        BackendUnavailable: a malformed entry.
    """
    module, class_name = _split(target)
    key = name.strip().lower()
    if not (key and module and class_name) or (needs is not None and needs not in NEEDS):
        raise BackendUnavailable(f"{PLUGIN_ENV}: {name}={target} is not name=module:Class[:onnx|hf|none]")
    _targets[key] = f"{module}:{class_name}"
    _infos.pop(key, None)
    if needs:
        _needs[key] = needs
    else:
        _needs.pop(key, None)
    return key


def unregister_engine(name: str) -> None:
    """Remove a registered plugin (tests); built-ins stay."""
    if name not in BUILTIN:
        _targets.pop(name, None)
        _infos.pop(name, None)
        _needs.pop(name, None)


def register_plugins(spec: str | None = None) -> list[str]:
    """Register extra engines from ``name=module:Class[:needs]`` entries, comma separated.

    Read from $INFBENCH_ENGINE_PLUGINS when `spec` is None. Each class declares its own `EngineInfo`; the
    optional `needs` (``onnx``, ``hf`` or ``none``) overrides the one it declares.
    """
    text = os.environ.get(PLUGIN_ENV, "") if spec is None else spec
    added = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, _, target = item.partition("=")
        module, _, rest = target.partition(":")
        class_name, _, needs = rest.partition(":")
        added.append(register_engine(name, f"{module}:{class_name}", needs or None))
    return added


class _Backends(Mapping[str, EngineInfo]):
    """Read-only view: canonical name → EngineInfo of every registered engine (kept for older callers)."""

    def __getitem__(self, name: str) -> EngineInfo:
        if name not in _targets:
            raise KeyError(name)
        return _info(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(_targets))

    def __len__(self) -> int:
        return len(_targets)

    def __repr__(self) -> str:
        return f"BACKENDS({', '.join(_targets)})"


BACKENDS: Mapping[str, EngineInfo] = _Backends()


def describe(name: str) -> dict[str, Any]:
    """A JSON-friendly description of engine `name` (for `models --json` and docs)."""
    info = engine_info(name)
    return {
        "name": info.name,
        "aliases": list(info.aliases),
        "description": info.description,
        "needs": info.needs,
        "roles": list(info.roles),
        "installed": not missing_imports(info.requires),
        "options": [
            {"name": o.name, "type": o.type_text, "default": o.default, "help": o.help} for o in info.options
        ],
    }


register_plugins()
