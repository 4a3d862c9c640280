"""`infbench-tui compare A B`: is B faster or slower than A, per backend, beyond the noise band? (CI gate)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

_PCT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")


def parse_threshold(text: str) -> float:
    """``5%`` or ``0.05`` → 0.05. Raises argparse.ArgumentTypeError otherwise."""
    m = _PCT.match(text)
    try:
        value = float(m.group(1)) / 100 if m else float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value < 1) or (not m and value >= 1):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use a percentage like 5% or a fraction like 0.05 (between 0 and 1)"
        )
    return value


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `compare` subcommand."""
    p = sub.add_parser(
        "compare",
        help="compare two sessions (regression gate)",
        description="Compare session B with session A, backend by backend: ratio B/A of the medians and of the "
        "p99s with bootstrap 95 %% CIs, a Mann-Whitney p-value, and a verdict (faster / slower / no "
        "significant difference) that treats the threshold as the noise band. Exit code 1 when B "
        "is a significant regression beyond the threshold for any backend, else 0 (2: bad "
        "arguments).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  infbench-tui compare before.infb after.infb\n"
        "  infbench-tui compare before.infb after.infb --backend onnxruntime --threshold 2%\n",
    )
    p.add_argument("a", metavar="A", help="baseline session")
    p.add_argument("b", metavar="B", help="candidate session")
    p.add_argument(
        "--backend", action="append", metavar="NAME", help="compare only this backend (repeatable)"
    )
    p.add_argument(
        "--threshold",
        type=parse_threshold,
        default=0.05,
        metavar="T",
        help="noise band: differences within ±T are not called (default 5%%)",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.add_argument(
        "--bootstrap", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)"
    )
    return p


def compare_sessions(
    a: Any, b: Any, backends: list[str] | None, threshold: float, n_boot: int = 2000
) -> dict[str, Any]:
    """Per-backend comparison of the measured samples of two `RunData`s (JSON-ready)."""
    from infbench.analysis.compare import compare_latencies
    from infbench.errors import ConfigError

    la, lb = list(a.backend_infos()), list(b.backend_infos())
    if backends:
        missing = [(x, s) for x in backends for s, labels in (("A", la), ("B", lb)) if x not in labels]
        if missing:
            name, side = missing[0]
            raise ConfigError(
                f"--backend {name}: not in session {side} (has {', '.join(la if side == 'A' else lb)})"
            )
        labels = list(backends)
    else:
        labels = [x for x in la if x in lb]
        if not labels:
            raise ConfigError(
                f"no backend in common: A has {', '.join(la) or 'none'}, B has {', '.join(lb) or 'none'}"
            )
    rows: dict[str, Any] = {}
    for label in labels:
        _, da = a.samples(label, phase="measure")
        _, db = b.samples(label, phase="measure")
        if da.size == 0 or db.size == 0:
            rows[label] = {
                "verdict": "not compared",
                "regression": False,
                "reason": f"no measured samples in {'A' if da.size == 0 else 'B'}",
                "n_a": int(da.size),
                "n_b": int(db.size),
            }
            continue
        c = compare_latencies(da, db, threshold=threshold, n_boot=n_boot, seed=0).to_dict()
        c["median_a_ms"], c["median_b_ms"] = float(_median(da)) / 1e6, float(_median(db)) / 1e6
        rows[label] = c
    only = {"A": [x for x in la if x not in lb], "B": [x for x in lb if x not in la]}
    return {
        "threshold": threshold,
        "backends": rows,
        "only_in": only,
        "regression": any(r.get("regression") for r in rows.values()),
    }


def _median(x: Any) -> float:
    import numpy as np

    return float(np.median(x))


def run(args: argparse.Namespace) -> int:
    """Print the comparison; exit 1 on a significant regression beyond the threshold."""
    from infbench.commands.report import open_checked
    from infbench.errors import ConfigError

    if args.bootstrap < 10:
        raise ConfigError(f"--bootstrap must be at least 10, got {args.bootstrap}")
    with open_checked(args.a) as a, open_checked(args.b) as b:
        result = compare_sessions(a, b, args.backend, args.threshold, args.bootstrap)
        result["a"], result["b"] = str(a.path), str(b.path)
    if args.format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print(result)
    return 1 if result["regression"] else 0


def _print(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from infbench.render import fmt_ms

    console = Console()
    t = Table(
        title=escape(f"B = {result['b']}  vs  A = {result['a']}  (noise band ±{result['threshold']:.1%})")
    )
    for col in (
        "backend",
        "n A / B",
        "median A → B",
        "median B/A [95% CI]",
        "p99 B/A [95% CI]",
        "p",
        "verdict",
    ):
        t.add_column(col, justify="left" if col in ("backend", "verdict") else "right")
    colours = {"faster": "green", "slower": "red"}
    for label, r in result["backends"].items():
        if "median_ratio" not in r:
            t.add_row(
                escape(label),
                f"{r['n_a']} / {r['n_b']}",
                "",
                "",
                "",
                "",
                escape(f"{r['verdict']}: {r['reason']}"),
            )
            continue
        mci, pci = r["median_ratio_ci95"], r["p99_ratio_ci95"]
        colour = colours.get(r["verdict"], "white")
        t.add_row(
            escape(label),
            f"{r['n_a']} / {r['n_b']}",
            f"{fmt_ms(r['median_a_ms'])} → {fmt_ms(r['median_b_ms'])}",
            f"{r['median_ratio']:.3f} [{mci[0]:.3f}–{mci[1]:.3f}]",
            f"{r['p99_ratio']:.3f} [{pci[0]:.3f}–{pci[1]:.3f}]",
            f"{r['p_value']:.2g}",
            f"[{colour}]{r['verdict']}[/{colour}]",
        )
    console.print(t)
    for side, labels in result["only_in"].items():
        if labels:
            console.print(escape(f"only in {side}: {', '.join(labels)}"))
    if result["regression"]:
        console.print("[red]regression: B is significantly slower beyond the noise band[/red]")
