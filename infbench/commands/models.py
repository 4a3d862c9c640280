"""`infbench-tui models`: list the built-in models (with their size on disk once built) and the engines."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, TypedDict

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `models` subcommand."""
    p = sub.add_parser(
        "models",
        help="list the built-in models and the engines with their options",
        description="List the built-in models: random-weight transformers built offline on first use and cached "
        "(with their size on disk once built). "
        "Any command taking MODEL also accepts a path to a .onnx file or a local Hugging Face model "
        "directory (nothing is ever downloaded). Then the engines (-b NAME), whether they are installed, "
        "and the options each declares.",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    return p


_SHORT_TASKS = {"token-classification": "token-cls", "causal-lm": "causal-lm"}


class _ModelRow(TypedDict):
    """One built-in model as listed (a table row, or an object of the JSON output)."""

    name: str
    family: str
    task: str
    layers: int
    hidden: int
    params: int
    description: str
    cached: bool
    default: bool
    hf_mb: float | None
    onnx_mb: float | None
    onnx_outdated: bool


def _human(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def _on_disk(r: _ModelRow) -> str:
    """The sizes in the cache: ``hf 1.0 MB, onnx 1.0 MB``, or ``not built yet``."""
    from infbench.metrics import fmt_mb

    if r["hf_mb"] is None and r["onnx_mb"] is None:
        return "not built yet"
    hf = f"hf {fmt_mb(r['hf_mb'])}" if r["hf_mb"] is not None else "hf not built yet"
    if r["onnx_mb"] is None:
        return f"{hf}, onnx not built yet"
    outdated = " (old export, redone on next use)" if r["onnx_outdated"] else ""
    return f"{hf}, onnx {fmt_mb(r['onnx_mb'])}{outdated}"


def run(args: argparse.Namespace) -> int:
    """Print the built-in models as a table or JSON."""
    from infbench.engines.models import BUILTIN_MODELS, cache_root, disk_usage, is_cached
    from infbench.plan.spec import DEFAULT_MODEL

    rows: list[_ModelRow] = []
    for m in BUILTIN_MODELS.values():
        disk = disk_usage(m.name)
        rows.append(
            {
                "name": m.name,
                "family": m.family,
                "task": m.task,
                "layers": m.layers,
                "hidden": m.hidden,
                "params": m.approx_params,
                "description": m.description,
                "cached": is_cached(m.name),
                "default": m.name == DEFAULT_MODEL,
                "hf_mb": disk.hf_mb,
                "onnx_mb": disk.onnx_mb,
                "onnx_outdated": disk.onnx_outdated,
            }
        )
    from infbench.engines.registry import describe, engine_names
    from infbench.errors import BackendUnavailable

    engines = []
    for name in engine_names():
        try:
            engines.append(describe(name))
        except BackendUnavailable as exc:  # a broken plugin: listed by the registry's warning, not here
            log.warning("%s", exc)
    if args.json:
        json.dump({"models": rows, "cache_dir": str(cache_root()), "engines": engines}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="built-in models: random weights, built offline on first use")
    for col in ("name", "task", "size", "params", "on disk", "description"):
        wrap = col in ("description", "on disk")
        table.add_column(col, justify="right" if col == "params" else "left", no_wrap=not wrap)
    for r in rows:
        name = f"{r['name']}*" if r["default"] else r["name"]
        table.add_row(
            name,
            _SHORT_TASKS.get(r["task"], r["task"]),
            f"{r['layers']}×{r['hidden']}",
            _human(r["params"]),
            _on_disk(r),
            r["description"],
        )
    console = Console()
    console.print(table)
    console.print(
        f"* default model.  size: layers×hidden.  on disk: HF weights, ONNX export.  cache: {cache_root()}"
    )
    console.print(
        "MODEL may also be a path to a .onnx file (onnxruntime, openvino) or a local Hugging Face model "
        "directory (all backends; its ONNX export is cached)."
    )
    _print_engines(console, engines)
    return 0


def _print_engines(console: Any, engines: list[dict[str, Any]]) -> None:
    """The engines table: names, installed or not, and each option with its values and default."""
    from rich.table import Table

    table = Table(title="engines (-b NAME[:option=value,…])")
    for col in ("engine", "installed", "option", "value", "default"):
        table.add_column(col, no_wrap=col in ("engine", "option"))
    for e in engines:
        names = "/".join([e["name"], *e["aliases"]])
        installed = "yes" if e["installed"] else "no"
        if not e["options"]:
            table.add_row(names, installed, "—", "", "")
        for i, o in enumerate(e["options"]):
            default = "backend's own" if o["default"] is None else str(o["default"])
            table.add_row(names if i == 0 else "", installed if i == 0 else "", o["name"], o["type"], default)
    console.print(table)
