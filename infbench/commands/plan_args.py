"""The arguments shared by `run` and `sweep` (model, backends, workload, duration, schedule)."""

from __future__ import annotations

import argparse

from infbench.engines.docs import backend_help
from infbench.plan.spec import DEFAULT_MIN_AGREEMENT, DEFAULT_MODEL, SCHEDULES
from infbench.plan.workload import add_workload_arguments


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """Model, backends, workload, duration and schedule options."""
    p.add_argument(
        "model",
        nargs="?",
        default=DEFAULT_MODEL,
        help=f"built-in model name (see `models`), a .onnx file or a local Hugging Face model "
        f"directory (default: {DEFAULT_MODEL})",
    )
    p.add_argument(
        "-b",
        "--backend",
        action="append",
        metavar="NAME[:k=v,…]",
        help="backend to run, repeatable, with options after a colon, e.g. ort:graph_opt=basic or "
        "ov:hint=throughput,streams=2 (each engine's options, values and defaults: README, Backend options). "
        f"Engines [options]: {backend_help()}. A backend given twice is labelled by the options that differ: "
        "-b ort -b ort:threads=1 gives rows onnxruntime and onnxruntime[threads=1]. Unknown options and bad "
        "values are refused before anything starts. (default: every installed backend that can take the "
        "model, controls aside; the others are named with the reason)",
    )
    add_workload_arguments(p)  # --batch, --seq, --corpus, --task, … : declared once in plan.workload
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="intra-op threads for every backend with a thread option (default: the backend's own)",
    )
    p.add_argument(
        "--inter-threads",
        type=int,
        metavar="N",
        help="inter-op threads for every backend with such an option",
    )
    p.add_argument(
        "--device",
        metavar="DEV",
        help="device for every backend with a device option, checked against each one's choices "
        "(e.g. cpu, cuda for ORT/torch; CPU, GPU, NPU for OpenVINO)",
    )
    p.add_argument(
        "-d",
        "--duration",
        type=float,
        default=10.0,
        metavar="S",
        help="minimum measured seconds per backend (default 10); a backend measures until both -d and "
        "-n are met, so a slow model can run longer: the expected time is printed at the start "
        "and after warm-up, and the progress shows which limit binds",
    )
    p.add_argument(
        "-n",
        "--iterations",
        type=int,
        default=100,
        metavar="N",
        help="minimum measured calls per backend (default 100); at 0.5 s a call, -n 100 alone "
        "takes 50 s: lower it for a quick look at a slow model",
    )
    p.add_argument(
        "-w",
        "--warmup",
        default="10",
        metavar="N|Ss",
        help="warm-up per backend: a call count (10) or seconds (2s); recorded, excluded from stats",
    )
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="interleaved",
        help="interleaved (default: short turns, order shuffled each round, one engine at a time), "
        "sequential (one backend after another) or concurrent (all at once)",
    )
    p.add_argument(
        "--block",
        type=float,
        default=0.25,
        metavar="S",
        help="length of one interleaved turn (default 0.25 s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for inputs and schedule order (default 0)")
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="watchdog: an engine silent this long is killed and reported (default 120)",
    )
    p.add_argument(
        "--parity-tol",
        type=float,
        default=1e-3,
        metavar="X",
        help="max abs output difference vs the reference backend before a backend is degraded (1e-3)",
    )
    p.add_argument(
        "--min-agreement",
        type=float,
        default=DEFAULT_MIN_AGREEMENT,
        metavar="PCT",
        help="for a variant that changes the numerics on purpose (INT8, bf16, f16: what its engine reports it "
        "ran), the label agreement %% with the fp32 reference (arg-max of the first output over its last axis, "
        "every position) below which it is degraded (exit 1); such variants are judged by this instead of "
        f"--parity-tol (default {DEFAULT_MIN_AGREEMENT:g}: the built-ins' INT8/bf16 variants agree on 97–100 %%, "
        "a broken one on about 1 label in 9; raise it for a trained model, e.g. 99)",
    )
