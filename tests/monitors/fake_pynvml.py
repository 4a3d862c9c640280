"""A stand-in `pynvml` that replays recorded values and raises the real `pynvml.NVMLError` subclasses."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pynvml as real

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _obj(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**value)
    if isinstance(value, list):
        return [_obj(v) for v in value]
    return value


def make_fake(spec: dict[str, Any] | str) -> ModuleType:
    """Fake pynvml from a spec dict or the name of a tests/fixtures/nvml_*.json file."""
    if isinstance(spec, str):
        spec = json.loads((FIXTURES / spec).read_text())
    fake = ModuleType("pynvml")
    for k, v in vars(real).items():
        if k.startswith(("NVML_", "NVMLError", "nvmlClocks")):
            setattr(fake, k, v)
    calls: dict[tuple[int, str], int] = {}
    fake.calls = calls
    devices = spec.get("devices", [])

    def raise_named(name: str) -> None:
        raise getattr(real, f"NVMLError_{name}")()

    def nvmlInit() -> None:
        if spec.get("init_error"):
            raise_named(spec["init_error"])

    fake.nvmlInit = nvmlInit
    fake.nvmlShutdown = lambda: None
    fake.nvmlDeviceGetCount = lambda: len(devices)
    fake.nvmlDeviceGetHandleByIndex = lambda i: i
    fake.nvmlSystemGetDriverVersion = lambda: spec.get("driver_version", "0")

    def device_fn(name: str):
        def call(handle: int, *args: Any) -> Any:
            key = name if not args else f"{name}:{int(args[0])}"
            dev = devices[handle]
            if key not in dev:
                raise_named("FunctionNotFound")
            value = dev[key]
            n = calls.get((handle, key), 0)
            calls[(handle, key)] = n + 1
            if isinstance(value, dict) and "error" in value:
                raise_named(value["error"])
            if isinstance(value, dict) and "replay" in value:
                value = value["replay"][min(n, len(value["replay"]) - 1)]
            return _obj(value)

        return call

    def module_getattr(name: str) -> Any:
        if name.startswith("nvmlDevice"):
            return device_fn(name)
        raise AttributeError(name)

    fake.__getattr__ = module_getattr
    return fake
