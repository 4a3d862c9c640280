"""Arguments shared by `run` and `sweep`, and their translation into a validated RunPlan."""

from __future__ import annotations

import argparse
import os
from typing import Any

from infbench.config import (
    DEFAULT_MODEL,
    SCHEDULES,
    BackendSpec,
    RunPlan,
    WorkloadSpec,
    parse_backend_arg,
    unique_labels,
)
from infbench.errors import ConfigError

AA_SUFFIX = "#aa"  # label of the A/A twin; analysis.session_analysis pairs it with its original
THREAD_KEYS = {"onnxruntime": "threads", "openvino": "threads", "torch": "threads"}
INTER_KEYS = {"onnxruntime": "inter_threads", "torch": "inter_threads"}


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """Model, backends, workload, duration and schedule options."""
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL,
                   help=f"built-in model name (see `models`), a .onnx file or a local Hugging Face model "
                        f"directory (default: {DEFAULT_MODEL})")
    p.add_argument("-b", "--backend", action="append", metavar="NAME[:k=v,…]",
                   help="backend to run, repeatable: onnxruntime (ort), openvino (ov), torch (transformers), null; "
                        "per-backend options after a colon, e.g. ort:graph_opt=basic,execution_mode=parallel or "
                        "ov:hint=throughput,streams=2 (default: every installed backend)")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--seq", type=int, default=128, help="sequence length, or the maximum with --seq-dist (default 128)")
    p.add_argument("--seq-dist", metavar="DIST",
                   help="variable lengths: uniform:LO-HI, normal:MEAN,STD, or file:PATH (one text per line, "
                        "tokenized with the model's tokenizer)")
    p.add_argument("--threads", type=int, metavar="N", help="intra-op threads for every backend (default: backend's own)")
    p.add_argument("--inter-threads", type=int, metavar="N", help="inter-op threads (onnxruntime, torch)")
    p.add_argument("--device", metavar="DEV", help="device for every backend: cpu, cuda (ORT/torch), GPU/NPU (OpenVINO)")
    p.add_argument("-d", "--duration", type=float, default=10.0, metavar="S",
                   help="minimum measured seconds per backend (default 10)")
    p.add_argument("-n", "--iterations", type=int, default=100, metavar="N",
                   help="minimum measured calls per backend (default 100)")
    p.add_argument("-w", "--warmup", default="10", metavar="N|Ss",
                   help="warm-up per backend: a call count (10) or seconds (2s); recorded, excluded from stats")
    p.add_argument("--schedule", choices=SCHEDULES, default="interleaved",
                   help="interleaved (default: short turns, order shuffled each round, one engine at a time), "
                        "sequential (one backend after another) or concurrent (all at once)")
    p.add_argument("--block", type=float, default=0.25, metavar="S", help="length of one interleaved turn (default 0.25 s)")
    p.add_argument("--seed", type=int, default=0, help="seed for inputs and schedule order (default 0)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="watchdog: an engine silent this long is killed and reported (default 120)")
    p.add_argument("--parity-tol", type=float, default=1e-3, metavar="X",
                   help="max abs output difference vs the reference backend before a backend is degraded (1e-3)")


def parse_warmup(text: str) -> tuple[int, float]:
    """``"10"`` → (10 calls, 0 s); ``"2s"`` → (0 calls, 2.0 s)."""
    t = str(text).strip().lower()
    try:
        if t.endswith("s"):
            return 0, float(t[:-1])
        return int(t), 0.0
    except ValueError:
        raise ConfigError(f"--warmup {text!r}: give a call count (10) or seconds (2s)") from None


def backend_specs(args: argparse.Namespace, backends: list[str] | None = None) -> tuple[BackendSpec, ...]:
    """BackendSpecs from --backend (or every installed backend), with global thread/device flags applied."""
    from infbench.engines.base import installed_backends, require_backend

    raw = backends if backends is not None else (args.backend or [])
    parsed: list[tuple[str, dict[str, Any]]] = [parse_backend_arg(x) for x in raw]
    if not parsed:
        names = installed_backends()
        if not names:
            raise ConfigError("no backend installed: pip install onnxruntime (or openvino, or torch + transformers)")
        parsed = [(n, {}) for n in names]
    canon = [(require_backend(name), opts) for name, opts in parsed]
    labels = unique_labels([c for c, _ in canon])
    specs = []
    for (name, opts), label in zip(canon, labels):
        merged: dict[str, Any] = {}
        if getattr(args, "threads", None) is not None and name in THREAD_KEYS:
            merged[THREAD_KEYS[name]] = args.threads
        if getattr(args, "inter_threads", None) is not None and name in INTER_KEYS:
            merged[INTER_KEYS[name]] = args.inter_threads
        if getattr(args, "device", None) and name != "null":
            merged["device"] = args.device.upper() if name == "openvino" else args.device.lower()
        merged.update(opts)
        specs.append(BackendSpec(name, label, merged))
    if getattr(args, "aa", False):
        first = next((s for s in specs if s.backend != "null"), None)
        if first is None:
            raise ConfigError("--aa needs a real backend to run twice (not only null)")
        specs.append(BackendSpec(first.backend, first.label + AA_SUFFIX, dict(first.options)))
    return tuple(specs)


def plan_from_args(args: argparse.Namespace, backends: list[str] | None = None) -> RunPlan:
    """A validated RunPlan from parsed arguments (ConfigError on bad values)."""
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be a positive integer, got {args.threads}")
    if args.inter_threads is not None and args.inter_threads < 1:
        raise ConfigError(f"--inter-threads must be a positive integer, got {args.inter_threads}")
    warm_n, warm_s = parse_warmup(args.warmup)
    model = args.model
    if os.path.sep in model or model.endswith(".onnx") or os.path.exists(model):
        model = os.path.abspath(os.path.expanduser(model))
    return RunPlan(
        model=model,
        backends=backend_specs(args, backends),
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
