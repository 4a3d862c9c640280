"""`infbench-tui compare A B` or `compare A1 A2 … -- B1 B2 …`: is B faster or slower than A, per backend,
beyond the noise band? (CI gate).

One session per side: the CIs resample each session's turns, so they cover the noise *within* a run but not
how much whole runs differ; the output says so. Several sessions per side: each session's median is one
observation and the CI is a t interval over sessions (`analysis.between`), which covers run-to-run variation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from contextlib import ExitStack
from typing import Any

_PCT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")
SEPARATOR = "\x00--"  # stands for a bare `--` between the A and B sessions (argparse would drop it)
DEFAULT_THRESHOLD = 0.05
SINGLE_NOTE = ("one session per side: the verdict ignores run-to-run variation (CIs cover the noise within "
               "each run only); pass several sessions per side (A1 A2 A3 -- B1 B2 B3) to measure it")


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


def _keep_separator(parser: argparse.ArgumentParser) -> None:
    """Make `parser` keep a bare ``--`` among its positionals (as `SEPARATOR`) instead of dropping it."""
    base = type(parser)

    class _Parser(base):  # type: ignore[valid-type, misc]
        def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
            if args is not None:
                args = [SEPARATOR if a == "--" else a for a in args]
            return super().parse_known_args(args, namespace)

    parser.__class__ = _Parser


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `compare` subcommand."""
    p = sub.add_parser(
        "compare",
        help="compare sessions (regression gate)",
        description="Compare session B with session A, backend by backend: ratio B/A of the medians and of the "
        "p99s with 95 %% CIs, a p-value, and a verdict (faster / slower / no significant difference) that "
        "treats the threshold as the noise band. Exit code 1 when B is a significant regression beyond "
        "the threshold for any backend, else 0 (2: bad arguments).\n\n"
        "With one session per side the CIs resample each run's turns: they cover the noise within a run "
        "but not how much whole runs differ, so the verdict ignores run-to-run variation and relies on the "
        "noise band (default 5 %%). Give several sessions per side, separated by --, to measure it: each "
        "session's median is one observation and the CI is a t interval over sessions.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  infbench-tui compare before.infb after.infb\n"
        "  infbench-tui compare before.infb after.infb --backend onnxruntime --threshold 2%\n"
        "  infbench-tui compare a1.infb a2.infb a3.infb -- b1.infb b2.infb b3.infb\n",
    )
    _keep_separator(p)
    p.add_argument("sessions", nargs="+", metavar="SESSION",
                   help="A B (baseline, candidate), or A1 A2 … -- B1 B2 … (several runs per side)")
    p.add_argument(
        "--backend", action="append", metavar="NAME", help="compare only this backend (repeatable)"
    )
    p.add_argument(
        "--threshold",
        type=parse_threshold,
        default=None,
        metavar="T",
        help="noise band: differences within ±T are not called (default 5%%)",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.add_argument(
        "--bootstrap", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)"
    )
    return p


def split_sides(paths: list[str]) -> tuple[list[str], list[str]]:
    """``[A, B]`` or ``[A1, …, --, B1, …]`` → (A paths, B paths). Raises ConfigError on any other shape."""
    from infbench.errors import ConfigError

    if SEPARATOR in paths:
        i = paths.index(SEPARATOR)
        a, b = paths[:i], paths[i + 1 :]
        if SEPARATOR in b:
            raise ConfigError("give one -- between the A sessions and the B sessions")
        if not a or not b:
            raise ConfigError("give at least one session on each side of --")
        return a, b
    if len(paths) != 2:
        raise ConfigError(f"got {len(paths)} sessions: give A B, or several per side as A1 A2 -- B1 B2")
    return [paths[0]], [paths[1]]


def _labels(sides: dict[str, list[Any]], backends: list[str] | None) -> list[str]:
    from infbench.errors import ConfigError

    every = [(side, d, list(d.backend_infos())) for side, ds in sides.items() for d in ds]
    if backends:
        for name in backends:
            for side, _d, labels in every:
                if name not in labels:
                    raise ConfigError(f"--backend {name}: not in session {side} (has {', '.join(labels)})")
        return list(backends)
    first = every[0][2]
    common = [x for x in first if all(x in labels for _s, _d, labels in every)]
    if not common:
        la, lb = (sorted({x for s, _d, ls in every if s == side for x in ls}) for side in ("A", "B"))
        raise ConfigError(f"no backend in common: A has {', '.join(la) or 'none'}, B has {', '.join(lb) or 'none'}")
    return common


def _one_pair(da: Any, db: Any, label: str, threshold: float, n_boot: int) -> dict[str, Any]:
    import numpy as np

    from infbench.analysis.compare import compare_latencies
    from infbench.analysis.turns import calls_of

    ca, _ = calls_of(da, label)
    cb, _ = calls_of(db, label)
    if ca.dur.size == 0 or cb.dur.size == 0:
        return {"verdict": "not compared", "regression": False, "n_a": int(ca.dur.size), "n_b": int(cb.dur.size),
                "reason": f"no measured samples in {'A' if ca.dur.size == 0 else 'B'}"}
    c = compare_latencies(ca, cb, threshold=threshold, n_boot=n_boot, seed=0).to_dict()
    c["median_a_ms"], c["median_b_ms"] = float(np.median(ca.dur)) / 1e6, float(np.median(cb.dur)) / 1e6
    return c


def _many(a: list[Any], b: list[Any], label: str, threshold: float) -> dict[str, Any]:
    import numpy as np

    from infbench.analysis.between import compare_between

    per = {side: [ds.samples(label, phase="measure")[1] for ds in data] for side, data in (("A", a), ("B", b))}
    empty = [side for side, xs in per.items() if any(x.size == 0 for x in xs)]
    if empty:
        n = {s: sum(int(x.size) for x in xs) for s, xs in per.items()}
        return {"verdict": "not compared", "regression": False, "n_a": n["A"], "n_b": n["B"],
                "reason": f"a session of {empty[0]} has no measured samples"}
    med = {s: [float(np.median(x)) for x in xs] for s, xs in per.items()}
    p99 = {s: [float(np.percentile(x, 99)) for x in xs] for s, xs in per.items()}
    c = compare_between(med["A"], med["B"], p99["A"], p99["B"], threshold)
    c["median_a_ms"] = float(np.exp(np.mean(np.log(med["A"])))) / 1e6
    c["median_b_ms"] = float(np.exp(np.mean(np.log(med["B"])))) / 1e6
    return c


def compare_sessions(
    a: Any, b: Any, backends: list[str] | None, threshold: float | None, n_boot: int = 2000
) -> dict[str, Any]:
    """Per-backend comparison of the measured samples of `RunData`s (one or a list per side), JSON-ready."""
    a_list, b_list = (list(x) if isinstance(x, (list, tuple)) else [x] for x in (a, b))
    source = "default" if threshold is None else "user"
    t = DEFAULT_THRESHOLD if threshold is None else threshold
    labels = _labels({"A": a_list, "B": b_list}, backends)
    single = len(a_list) == 1 and len(b_list) == 1
    rows = {label: (_one_pair(a_list[0], b_list[0], label, t, n_boot) if single else _many(a_list, b_list, label, t))
            for label in labels}
    la = {x for d in a_list for x in d.backend_infos()}
    lb = {x for d in b_list for x in d.backend_infos()}
    return {
        "threshold": t,
        "threshold_source": source,
        "sessions_a": len(a_list),
        "sessions_b": len(b_list),
        "variance": "within each session only" if single else "between sessions",
        "note": SINGLE_NOTE if single else None,
        "backends": rows,
        "only_in": {"A": sorted(la - lb), "B": sorted(lb - la)},
        "regression": any(r.get("regression") for r in rows.values()),
    }


def run(args: argparse.Namespace) -> int:
    """Print the comparison; exit 1 on a significant regression beyond the threshold."""
    from infbench.commands.report import open_checked
    from infbench.errors import ConfigError

    if args.bootstrap < 10:
        raise ConfigError(f"--bootstrap must be at least 10, got {args.bootstrap}")
    pa, pb = split_sides(list(args.sessions))
    with ExitStack() as stack:
        da = [stack.enter_context(open_checked(p)) for p in pa]
        db = [stack.enter_context(open_checked(p)) for p in pb]
        result = compare_sessions(da, db, args.backend, args.threshold, args.bootstrap)
        result["a"], result["b"] = ", ".join(str(d.path) for d in da), ", ".join(str(d.path) for d in db)
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
    src = "default" if result.get("threshold_source") == "default" else "given"
    t = Table(title=escape(f"B = {result['b']}  vs  A = {result['a']}  (noise band ±{result['threshold']:.1%}, "
                           f"{src})"))
    for col in ("backend", "n A / B", "median A → B", "median B/A [95% CI]", "p99 B/A [95% CI]", "p", "verdict"):
        t.add_column(col, justify="left" if col in ("backend", "verdict") else "right")
    colours = {"faster": "green", "slower": "red"}
    for label, r in result["backends"].items():
        if "median_ratio" not in r:
            t.add_row(escape(label), f"{r['n_a']} / {r['n_b']}", "", "", "", "",
                      escape(f"{r['verdict']}: {r['reason']}"))
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
    methods = {label: r["ci_method"] for label, r in result["backends"].items() if r.get("ci_method")}
    if len(set(methods.values())) == 1:
        console.print(escape(f"95 % CIs: {next(iter(methods.values()))}"), soft_wrap=True)
    for label, method in methods.items() if len(set(methods.values())) > 1 else ():
        console.print(escape(f"95 % CIs of {label}: {method}"), soft_wrap=True)
    if result.get("note"):
        console.print(escape(f"note: {result['note']}"), style="yellow", soft_wrap=True)
    for side, labels in result["only_in"].items():
        if labels:
            console.print(escape(f"only in {side}: {', '.join(labels)}"))
    if result["regression"]:
        console.print("[red]regression: B is significantly slower beyond the noise band[/red]")
