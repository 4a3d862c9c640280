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
import textwrap
from contextlib import ExitStack
from typing import Any

_PCT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")
SEPARATOR = "\x00--"  # stands for a bare `--` between the A and B sessions (argparse would drop it)
DEFAULT_THRESHOLD = 0.05
SINGLE_NOTE = (
    "one session per side: the verdict ignores run-to-run variation (CIs cover the noise within "
    "each run only); pass several sessions per side (A1 A2 A3 -- B1 B2 B3) to measure it"
)


DESCRIPTION = (
    (
        "Compare session B with session A, backend by backend: ratio B/A of the medians and of the p99s with "
        "95 % CIs, a p-value, and a verdict (faster / slower / no significant difference) that treats the threshold "
        "as the noise band. Exit code 1 when B is a significant regression beyond the threshold for any backend, "
        "else 0; 2 for bad arguments or input (a missing or unreadable session, a backend not in every session, "
        "sessions of different workloads without --force)."
    ),
    (
        "With one session per side the CIs resample each run's turns: they cover the noise within a run but not "
        "how much whole runs differ, so the verdict ignores run-to-run variation and relies on the noise band "
        "(default 5 %). Give several sessions per side, separated by --, to measure it: each session's median is "
        "one observation and the CI is a t interval over sessions."
    ),
    (
        "Like with like: every session must have run the same workload (model, batch, sequence length or "
        "distribution, and the batch option of a sweep configuration); otherwise compare names what differs and "
        "stops (exit 2) unless --force. Different backend options (threads, graph_opt, …) are compared, since "
        "measuring their effect is a common use, with a warning that names them."
    ),
    (
        "Backends are named as `run --backend` takes them: a label of the sessions, or a backend name or alias "
        "(ort, ov, pt) standing for the sessions' only label of that backend. The table puts each ratio's 95 % CI "
        "under it, so every CI stays whole at 80 columns; the CI method is said once below it when shared."
    ),
    (
        "Generate sessions (--task generate): each generating backend also gets a verdict on its time to first "
        "token (ratio of medians) and on its inter-token latency (ratio of p99s, the tail a chat user feels), "
        "each with its 95 % CI; a significant regression of either also exits 1."
    ),
)


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
        description="\n\n".join(textwrap.fill(para, 79) for para in DESCRIPTION),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  infbench-tui compare before.infb after.infb\n"
        "  infbench-tui compare before.infb after.infb --backend ort --threshold 2%\n"
        "  infbench-tui compare a1.infb a2.infb a3.infb -- b1.infb b2.infb b3.infb\n"
        "  infbench-tui compare tiny.infb small.infb --force     # different models, on purpose\n",
    )
    _keep_separator(p)
    p.add_argument(
        "sessions",
        nargs="+",
        metavar="SESSION",
        help="A B (baseline, candidate), or A1 A2 … -- B1 B2 … (several runs per side)",
    )
    p.add_argument(
        "--backend",
        action="append",
        metavar="NAME",
        help="compare only this backend (repeatable): a label of the sessions, or a backend name or alias "
        "(onnxruntime/ort, openvino/ov, torch) standing for the sessions' only label of that backend",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="compare sessions that ran different workloads (model, batch, sequence length) anyway; "
        "the differences are still printed",
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


def _name(d: Any) -> str:
    return str(getattr(d, "path", "?"))


def _labels(sides: dict[str, list[Any]], backends: list[str] | None) -> list[str]:
    """The labels to compare: `backends` resolved in every session (see `inputs.resolve_label`), or those
    every session has."""
    from infbench.commands.inputs import resolve_label
    from infbench.errors import ConfigError

    every = [(side, d, d.backend_infos()) for side, ds in sides.items() for d in ds]
    if backends:
        out: list[str] = []
        for name in backends:
            found = {
                (side, _name(d)): resolve_label(name, infos, f"{side} session {_name(d)}")
                for side, d, infos in every
            }
            if len(set(found.values())) > 1:
                means = "; ".join(f"{label} in {side} {path}" for (side, path), label in found.items())
                raise ConfigError(
                    f"--backend {name}: stands for different labels ({means}); give one label "
                    "that every session has"
                )
            label = next(iter(found.values()))
            if label not in out:
                out.append(label)
        return out
    first = list(every[0][2])
    common = [x for x in first if all(x in labels for _s, _d, labels in every)]
    if not common:
        la, lb = (sorted({x for s, _d, ls in every if s == side for x in ls}) for side in ("A", "B"))
        raise ConfigError(
            f"no backend in common: A has {', '.join(la) or 'none'}, B has {', '.join(lb) or 'none'}"
        )
    return common


MAX_NAMED = 3  # sessions named per value in a difference; the rest are counted


def _where(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" +{len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def _differ(what: str, values: list[tuple[str, Any]], fmt: Any = str) -> str | None:
    """``batch 1 (a.infb) vs 8 (b.infb)`` when the sessions' values of `what` differ, else None."""
    groups: dict[str, list[str]] = {}
    for session, value in values:
        groups.setdefault(fmt(value), []).append(session)
    if len(groups) < 2:
        return None
    return f"{what} " + " vs ".join(f"{value} ({_where(names)})" for value, names in groups.items())


def _options_text(options: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(options.items())) or "defaults"


def session_differences(sessions: list[Any], labels: list[str]) -> dict[str, list[str]]:
    """What differs between the sessions (RunData with a ``path``) for the compared `labels`.

    Returns:
        ``{"workload": [...], "options": [...]}``: one phrase per difference, e.g. ``model bert-tiny (a.infb)
        vs bert-small (b.infb)``. Workload: model, batch, sequence length, sequence-length distribution, and
        per label the engine and a ``batch`` option (a sweep configuration's batch). Options: per label, the
        backend options other than batch.
    """
    names = [_name(d) for d in sessions]
    plans = [d.plan or {} for d in sessions]
    wls = [p.get("workload") or {} for p in plans]
    infos = [{label: d.backend_infos().get(label) for label in labels} for d in sessions]
    opts = [{label: dict(getattr(i, "options", None) or {}) for label, i in per.items()} for per in infos]
    # the batch a backend ran: its own option (a sweep configuration's) or the plan's
    batches = [
        {label: o.get("batch", w.get("batch")) for label, o in per.items()} for per, w in zip(opts, wls)
    ]
    workload = [_differ("model", list(zip(names, (p.get("model") for p in plans))))]
    if all(len(set(map(str, b.values()))) <= 1 for b in batches):
        workload.append(_differ("batch", list(zip(names, (next(iter(b.values()), None) for b in batches)))))
    else:
        workload += [
            _differ(f"{label} batch", [(n, b[label]) for n, b in zip(names, batches)]) for label in labels
        ]
    tasks = [w.get("task") or "prefill" for w in wls]
    workload.append(_differ("task", list(zip(names, tasks))))
    if "generate" in tasks:
        workload.append(_differ("prompt-len", list(zip(names, (w.get("prompt_len") for w in wls)))))
        workload.append(_differ("new-tokens", list(zip(names, (w.get("new_tokens") for w in wls)))))
    workload += [
        _differ("seq", list(zip(names, (w.get("seq") for w in wls)))),
        _differ("seq-dist", list(zip(names, (w.get("seq_dist") for w in wls))), lambda v: v or "fixed"),
        _differ(
            "corpus", list(zip(names, (w.get("corpus") for w in wls))), lambda v: v or "none (random ids)"
        ),
        _differ("padding", list(zip(names, (w.get("padding") or "longest" for w in wls)))),
    ]
    options = []
    for label in labels:
        workload.append(
            _differ(
                f"{label} engine", [(n, getattr(per[label], "backend", "?")) for n, per in zip(names, infos)]
            )
        )
        rest = [(n, {k: v for k, v in o[label].items() if k != "batch"}) for n, o in zip(names, opts)]
        options.append(_differ(f"{label} options", rest, _options_text))
    return {"workload": [x for x in workload if x], "options": [x for x in options if x]}


def _one_pair(da: Any, db: Any, label: str, threshold: float, n_boot: int) -> dict[str, Any]:
    import numpy as np

    from infbench.analysis.compare import compare_latencies
    from infbench.analysis.turns import calls_of

    ca, _ = calls_of(da, label)
    cb, _ = calls_of(db, label)
    if ca.dur.size == 0 or cb.dur.size == 0:
        return {
            "verdict": "not compared",
            "regression": False,
            "n_a": int(ca.dur.size),
            "n_b": int(cb.dur.size),
            "reason": f"no measured samples in {'A' if ca.dur.size == 0 else 'B'}",
        }
    c = compare_latencies(ca, cb, threshold=threshold, n_boot=n_boot, seed=0).to_dict()
    c["median_a_ms"], c["median_b_ms"] = float(np.median(ca.dur)) / 1e6, float(np.median(cb.dur)) / 1e6
    return c


def _many(a: list[Any], b: list[Any], label: str, threshold: float) -> dict[str, Any]:
    import numpy as np

    from infbench.analysis.between import compare_between
    from infbench.records import PHASE_MEASURE

    per = {
        side: [ds.samples(label, phase=PHASE_MEASURE)[1] for ds in data]
        for side, data in (("A", a), ("B", b))
    }
    empty = [side for side, xs in per.items() if any(x.size == 0 for x in xs)]
    if empty:
        n = {s: sum(int(x.size) for x in xs) for s, xs in per.items()}
        return {
            "verdict": "not compared",
            "regression": False,
            "n_a": n["A"],
            "n_b": n["B"],
            "reason": f"a session of {empty[0]} has no measured samples",
        }
    med = {s: [float(np.median(x)) for x in xs] for s, xs in per.items()}
    p99 = {s: [float(np.percentile(x, 99)) for x in xs] for s, xs in per.items()}
    c = compare_between(med["A"], med["B"], p99["A"], p99["B"], threshold)
    c["median_a_ms"] = float(np.exp(np.mean(np.log(med["A"])))) / 1e6
    c["median_b_ms"] = float(np.exp(np.mean(np.log(med["B"])))) / 1e6
    return c


def compare_sessions(
    a: Any,
    b: Any,
    backends: list[str] | None,
    threshold: float | None,
    n_boot: int = 2000,
    force: bool = False,
) -> dict[str, Any]:
    """Per-backend comparison of the measured samples of `RunData`s (one or a list per side), JSON-ready.

    Raises:
        ConfigError: a --backend name that does not resolve to one label in every session, no backend in
            common, or (unless `force`) sessions that ran different workloads (the message names what differs).
    """
    from infbench.errors import ConfigError

    a_list, b_list = (list(x) if isinstance(x, (list, tuple)) else [x] for x in (a, b))
    source = "default" if threshold is None else "user"
    t = DEFAULT_THRESHOLD if threshold is None else threshold
    labels = _labels({"A": a_list, "B": b_list}, backends)
    diffs = session_differences(a_list + b_list, labels)
    if diffs["workload"] and not force:
        also = f" (options differ too: {'; '.join(diffs['options'])})" if diffs["options"] else ""
        raise ConfigError(
            f"the sessions ran different workloads: {'; '.join(diffs['workload'])}{also}; the "
            "ratios would compare different work — pass --force to compare anyway"
        )
    single = len(a_list) == 1 and len(b_list) == 1
    rows = {
        label: (
            _one_pair(a_list[0], b_list[0], label, t, n_boot) if single else _many(a_list, b_list, label, t)
        )
        for label in labels
    }
    for label, row in rows.items():  # generating variants: verdicts on TTFT and ITL p99 too
        gen = generation_rows(a_list, b_list, label, t, n_boot)
        if gen is not None:
            row["generation"] = gen
            row["regression"] = bool(row.get("regression")) or any(g["regression"] for g in gen.values())
    la = {x for d in a_list for x in d.backend_infos()}
    lb = {x for d in b_list for x in d.backend_infos()}
    return {
        "threshold": t,
        "threshold_source": source,
        "sessions_a": len(a_list),
        "sessions_b": len(b_list),
        "variance": "within each session only" if single else "between sessions",
        "note": SINGLE_NOTE if single else None,
        "differences": {**diffs, "forced": bool(force and diffs["workload"])},
        "backends": rows,
        "only_in": {"A": sorted(la - lb), "B": sorted(lb - la)},
        "regression": any(r.get("regression") for r in rows.values()),
    }


def generation_rows(
    a: list[Any], b: list[Any], label: str, threshold: float, n_boot: int
) -> dict[str, dict[str, Any]] | None:
    """``{"ttft": …, "itl": …}`` B vs A for a variant that generated in every session (None otherwise): one
    session per side, bootstrap ratios (`compare.compare_generation`); several, the between-session t interval
    of each session's TTFT median and ITL p99 (`between.compare_between`)."""
    import numpy as np

    from infbench.analysis.between import compare_between
    from infbench.analysis.compare import compare_generation
    from infbench.analysis.generation import generation_calls

    per = {side: [generation_calls(d, label) for d in data] for side, data in (("A", a), ("B", b))}
    if any(c is None for cs in per.values() for c in cs):
        return None
    if len(a) == 1 and len(b) == 1:
        return compare_generation(per["A"][0], per["B"][0], threshold, n_boot)  # type: ignore[arg-type]
    med = {s: [float(np.median(c[0].dur)) for c in cs if c] for s, cs in per.items()}
    p99 = {s: [float(np.percentile(c[1].dur, 99)) for c in cs if c] for s, cs in per.items()}
    ttft = compare_between(med["A"], med["B"], med["A"], med["B"], threshold)
    # the verdict of compare_between is on its first pair of values: here the sessions' ITL p99s
    itl = compare_between(p99["A"], p99["B"], p99["A"], p99["B"], threshold)
    itl = {k: v for k, v in itl.items() if not k.startswith(("median_ratio", "session_medians"))}
    itl["session_p99s_a"], itl["session_p99s_b"] = p99["A"], p99["B"]
    return {"ttft": {**ttft, "judged_by": "median"}, "itl": {**itl, "judged_by": "p99"}}


def difference_lines(result: dict[str, Any]) -> list[str]:
    """Warnings about what differs between the compared sessions (empty when they ran the same thing)."""
    diffs = result.get("differences") or {}
    out = []
    if diffs.get("workload"):
        out.append(
            f"warning: different workloads, compared because of --force: {'; '.join(diffs['workload'])}"
        )
    if diffs.get("options"):
        out.append(
            f"warning: backend options differ, so the ratios include their effect: {'; '.join(diffs['options'])}"
        )
    return out


def run(args: argparse.Namespace) -> int:
    """Print the comparison; exit 1 on a significant regression beyond the threshold."""
    from infbench.commands.report import open_checked
    from infbench.errors import ConfigError

    if args.bootstrap < 10:
        raise ConfigError(f"--bootstrap must be at least 10, got {args.bootstrap}")
    pa, pb = split_sides(list(args.sessions))
    with ExitStack() as stack:
        da = [stack.enter_context(open_checked(p, "compare")) for p in pa]
        db = [stack.enter_context(open_checked(p, "compare")) for p in pb]
        result = compare_sessions(da, db, args.backend, args.threshold, args.bootstrap, force=args.force)
        result["a"], result["b"] = ", ".join(str(d.path) for d in da), ", ".join(str(d.path) for d in db)
    if args.format == "json":
        for line in difference_lines(result):
            sys.stderr.write(f"infbench-tui: {line}\n")
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print(result)
    return 1 if result["regression"] else 0


def _print(result: dict[str, Any]) -> None:
    """The comparison table; every cell (the CIs in full) stays readable at 80 columns."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from infbench.metrics import metric
    from infbench.report.style import comparison_markup, styled
    from infbench.vocab import Tone

    median = metric("median_ms")
    console = Console()
    for line in difference_lines(result):
        console.print(escape(line), style="yellow", soft_wrap=True)
    src = "default" if result.get("threshold_source") == "default" else "given"
    methods = {label: r["ci_method"] for label, r in result["backends"].items() if r.get("ci_method")}
    shared = len(set(methods.values())) == 1
    t = Table(
        title=escape(
            f"B = {result['b']}  vs  A = {result['a']}  (noise band ±{result['threshold']:.1%}, {src})"
        ),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
        caption=escape(f"95 % CIs: {next(iter(methods.values()))}") if shared else None,
        caption_justify="left",
    )
    # the ratio's CI goes on a second line of its cell: at 80 columns nothing is cut
    for col in (
        "backend",
        "n A\nn B",
        "median\nA → B",
        "median B/A\n[95 % CI]",
        "p99 B/A\n[95 % CI]",
        "verdict\np",
    ):
        wraps = col in ("backend", "verdict\np")
        t.add_column(
            col,
            justify="left" if wraps else "right",
            no_wrap=not wraps,
            overflow="fold",
            min_width=11 if wraps else None,
        )
    for label, r in result["backends"].items():
        if "median_ratio" not in r:
            t.add_row(
                escape(label), f"{r['n_a']}\n{r['n_b']}", "", "", "", escape(f"{r['verdict']}: {r['reason']}")
            )
            continue
        mci, pci = r["median_ratio_ci95"], r["p99_ratio_ci95"]
        t.add_row(
            escape(label),
            f"{r['n_a']}\n{r['n_b']}",
            f"{median.format(r['median_a_ms'])}\n→ {median.format(r['median_b_ms'])}",
            f"{r['median_ratio']:.3f}\n[{mci[0]:.3f}–{mci[1]:.3f}]",
            f"{r['p99_ratio']:.3f}\n[{pci[0]:.3f}–{pci[1]:.3f}]",
            f"{comparison_markup(r['verdict'])}\np={r['p_value']:.2g}",
        )
    console.print(t)
    _print_generation(console, result)
    for label, method in methods.items() if not shared else ():
        console.print(escape(f"95 % CIs of {label}: {method}"), soft_wrap=True)
    if result.get("note"):
        console.print(escape(f"note: {result['note']}"), style="yellow", soft_wrap=True)
    for side, labels in result["only_in"].items():
        if labels:
            console.print(escape(f"only in {side}: {', '.join(labels)}"))
    if result["regression"]:
        console.print(styled("regression: B is significantly slower beyond the noise band", Tone.BAD))


def _print_generation(console: Any, result: dict[str, Any]) -> None:
    """The generating variants' TTFT (median) and ITL (p99) ratios B/A with their CIs and verdicts."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from infbench.metrics import metric
    from infbench.report.style import comparison_markup

    rows = {label: r["generation"] for label, r in result["backends"].items() if r.get("generation")}
    if not rows:
        return
    t = Table(title="generation: B/A", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    ttft_head, itl_head = (f"{metric(k).label} B/A\n[95 % CI]" for k in ("ttft_median_ms", "itl_p99_ms"))
    for col in ("backend", ttft_head, "verdict", itl_head, "verdict"):
        t.add_column(col, justify="left" if col in ("backend", "verdict") else "right", overflow="fold")
    for label, g in rows.items():
        ttft, itl = g["ttft"], g["itl"]
        itl_ratio, itl_ci = itl["p99_ratio"], itl["p99_ratio_ci95"]
        mci = ttft["median_ratio_ci95"]
        t.add_row(
            escape(label),
            f"{ttft['median_ratio']:.3f}\n[{mci[0]:.3f}–{mci[1]:.3f}]",
            comparison_markup(ttft["verdict"]),
            f"{itl_ratio:.3f}\n[{itl_ci[0]:.3f}–{itl_ci[1]:.3f}]",
            comparison_markup(itl["verdict"]),
        )
    console.print(t)
