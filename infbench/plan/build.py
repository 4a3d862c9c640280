"""From parsed arguments to a validated RunPlan: backends resolved and checked, flags applied, labels given."""

from __future__ import annotations

import argparse
import os
from typing import Any

from infbench.errors import ConfigError
from infbench.plan.spec import (
    BackendSpec,
    RunPlan,
    WorkloadSpec,
    parse_backend_arg,
    variant_labels,
)

AA_SUFFIX = "#aa"  # label of the A/A twin; analysis.session_analysis pairs it with its original
THREAD_KEYS = {"onnxruntime": "threads", "openvino": "threads", "torch": "threads"}
INTER_KEYS = {"onnxruntime": "inter_threads", "torch": "inter_threads"}


def parse_warmup(text: str) -> tuple[int, float]:
    """``"10"`` → (10 calls, 0 s); ``"2s"`` → (0 calls, 2.0 s)."""
    t = str(text).strip().lower()
    try:
        if t.endswith("s"):
            return 0, float(t[:-1])
        return int(t), 0.0
    except ValueError:
        raise ConfigError(f"--warmup {text!r}: give a call count (10) or seconds (2s)") from None


def default_backends(model: str, notes: list[str] | None = None) -> list[str]:
    """Every installed backend (not null) that can take `model`; a line per left-out backend goes to `notes`.

    Raises:
        ConfigError: no installed backend can take the model (the reasons are in the message).
        ModelError: `model` is not a usable model argument.
    """
    from infbench.engines.base import BACKENDS, missing_packages
    from infbench.engines.models import backends_for_model

    candidates = [n for n in BACKENDS if n != "null"]
    installed = [n for n in candidates if not missing_packages(n)]
    takes, left_out = backends_for_model(model, installed)
    lines = [f"{name} left out: {reason}" for name, reason in left_out.items()]
    for name in candidates:
        if name not in installed:
            lines.append(
                f"{name} left out: not installed (cannot import {', '.join(missing_packages(name))})"
            )
    if not takes:
        if not installed:
            raise ConfigError(
                "no backend installed: pip install onnxruntime (or openvino, or torch + transformers)"
            )
        raise ConfigError("no installed backend can take this model: " + "; ".join(lines))
    if notes is not None:
        notes.extend(lines)
    return takes


def _check_keep(name: str, options: dict[str, Any]) -> None:
    keep = options.get("keep")
    if keep is None:
        return
    if name != "null":
        raise ConfigError(
            f"--backend {name}:keep=…: only the null control thins its samples (every other "
            "backend records every call)"
        )
    if keep != "all" and not (isinstance(keep, int) and keep > 0):
        raise ConfigError(
            f"--backend null:keep={keep}: give all (record every call) or calls per second, e.g. keep=20000"
        )


def backend_specs(
    args: argparse.Namespace, backends: list[str] | None = None, notes: list[str] | None = None
) -> tuple[BackendSpec, ...]:
    """BackendSpecs from --backend (or every installed backend that can take the model, see
    `default_backends`), with the global thread/device flags applied and labels that tell variants apart.

    Lines about backends left out of the default set are appended to `notes`.
    """
    from infbench.engines.base import require_backend

    raw = backends if backends is not None else (args.backend or [])
    parsed: list[tuple[str, dict[str, Any]]] = [parse_backend_arg(x) for x in raw]
    if not parsed:
        parsed = [(n, {}) for n in default_backends(args.model, notes)]
    canon = [(require_backend(name), opts) for name, opts in parsed]
    merged_all: list[tuple[str, dict[str, Any]]] = []
    for name, opts in canon:
        _check_keep(name, opts)
        merged: dict[str, Any] = {}
        if getattr(args, "threads", None) is not None and name in THREAD_KEYS:
            merged[THREAD_KEYS[name]] = args.threads
        if getattr(args, "inter_threads", None) is not None and name in INTER_KEYS:
            merged[INTER_KEYS[name]] = args.inter_threads
        if getattr(args, "device", None) and name != "null":
            merged["device"] = args.device.upper() if name == "openvino" else args.device.lower()
        merged.update(opts)
        merged_all.append((name, merged))
    labels = variant_labels(merged_all)
    specs = [BackendSpec(name, label, merged) for (name, merged), label in zip(merged_all, labels)]
    if getattr(args, "aa", False):
        first = next((s for s in specs if s.backend != "null"), None)
        if first is None:
            raise ConfigError("--aa needs a real backend to run twice (not only null)")
        specs.append(BackendSpec(first.backend, first.label + AA_SUFFIX, dict(first.options)))
    return tuple(specs)


def check_seq_dist_file(seq_dist: str | None, model: str, specs: tuple[BackendSpec, ...]) -> None:
    """For ``--seq-dist file:PATH``: the file must exist (checked first), and the model must have a tokenizer.

    Raises:
        ConfigError: the file is missing or not a file, or the model has no tokenizer (built-in, .onnx, or an
            HF directory without tokenizer files).
    """
    from infbench.engines.base import BACKENDS

    if not seq_dist or not seq_dist.startswith("file:"):
        return
    text = seq_dist[len("file:") :]
    path = os.path.abspath(os.path.expanduser(text))
    if not os.path.exists(path):
        raise ConfigError(f"--seq-dist file:{text}: the file {path} does not exist")
    if not os.path.isfile(path):
        raise ConfigError(
            f"--seq-dist file:{text}: {path} is not a file (give a text file, one text per line)"
        )
    if all(BACKENDS[s.backend].needs == "none" for s in specs):
        return  # no backend takes the model: nothing is tokenized
    from infbench.engines import _modelcache as mc
    from infbench.engines.models import resolve_model

    src = resolve_model(model)
    alternatives = "use --seq-dist uniform:LO-HI or normal:MEAN,STD"
    if src.kind == "builtin":
        raise ConfigError(
            f"--seq-dist file:{text} needs a tokenizer to turn its texts into token ids, and "
            f"built-in model {src.name} has none (random weights, no vocabulary): {alternatives}, or pass a "
            "local Hugging Face model directory with tokenizer files"
        )
    if src.kind == "onnx":
        raise ConfigError(
            f"--seq-dist file:{text} needs a tokenizer to turn its texts into token ids, and "
            f"an .onnx file ({src.name}) has none: {alternatives}, or pass the model's Hugging Face "
            "directory with its tokenizer files"
        )
    if src.path and not any(os.path.isfile(os.path.join(src.path, f)) for f in mc.TOKENIZER_FILES):
        raise ConfigError(
            f"--seq-dist file:{text} needs a tokenizer, and {src.path} has no tokenizer files "
            f"({', '.join(mc.TOKENIZER_FILES)}): save the tokenizer there or {alternatives}"
        )


def plan_from_args(
    args: argparse.Namespace, backends: list[str] | None = None, notes: list[str] | None = None
) -> RunPlan:
    """A validated RunPlan from parsed arguments (ConfigError on bad values).

    `backends` overrides --backend; lines about backends left out of the default set go to `notes`.
    """
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be a positive integer, got {args.threads}")
    if args.inter_threads is not None and args.inter_threads < 1:
        raise ConfigError(f"--inter-threads must be a positive integer, got {args.inter_threads}")
    warm_n, warm_s = parse_warmup(args.warmup)
    model = args.model
    if os.path.sep in model or model.endswith(".onnx") or os.path.exists(model):
        model = os.path.abspath(os.path.expanduser(model))
    args = argparse.Namespace(**{**vars(args), "model": model})
    specs = backend_specs(args, backends, notes)
    plan = RunPlan(
        model=model,
        backends=specs,
        workload=WorkloadSpec(batch=args.batch, seq=args.seq, seq_dist=args.seq_dist, seed=args.seed),
        duration_s=args.duration,
        iterations=args.iterations,
        warmup_iterations=warm_n,
        warmup_s=warm_s,
        schedule=args.schedule,
        block_s=args.block,
        seed=args.seed,
        timeout_s=args.timeout,
        parity_tolerance=args.parity_tol,
    )
    check_seq_dist_file(args.seq_dist, model, specs)
    return plan
