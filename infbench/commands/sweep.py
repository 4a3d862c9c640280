"""`infbench-tui sweep`: one backend's option grid in one interleaved run; table, Pareto set, advice."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from infbench.commands.plan_args import add_plan_arguments
from infbench.errors import ConfigError
from infbench.plan.build import plan_from_args

MAX_CONFIGS = 64
SHORT = {"onnxruntime": "ort", "openvino": "ov"}
# grid flag → (option key, value type or choices)
AXES: dict[str, tuple[str, Any]] = {
    "--threads": ("threads", int),
    "--inter-threads": ("inter_threads", int),
    "--exec-mode": ("execution_mode", ("sequential", "parallel")),
    "--graph-opt": ("graph_opt", ("disable", "basic", "extended", "all")),
    "--streams": ("streams", int),
    "--hint": ("hint", ("latency", "throughput", "none")),
    "--batch": ("batch", int),
}
BACKEND_AXES = {
    "onnxruntime": ("threads", "inter_threads", "execution_mode", "graph_opt", "batch"),
    "openvino": ("threads", "streams", "hint", "batch"),
    "torch": ("threads", "inter_threads", "batch"),
}
_ALIASES = {"seq": "sequential", "par": "parallel"}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `sweep` subcommand (run's plan arguments, with list-valued grid flags)."""
    p = sub.add_parser(
        "sweep",
        help="sweep backend options (threads, batch, …) and recommend a configuration",
        description="Run every combination of the given option values of a backend, plus its default "
        "configuration, in one interleaved run recorded as a session. Several backends (-b ort -b "
        "ov) are each swept over the grid flags they have, all in the same run; a flag none of "
        "them has is an error. Ends with a table, the latency-vs-throughput Pareto set and a "
        "recommended configuration with its margin over its backend's default (and, with several "
        "backends, the best of each). Exit code: 0 all ok, 1 any failed or degraded, 2 bad "
        "arguments or input (missing model, unwritable --json/--save), 130 interrupted.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve",
        epilog="examples:\n"
        "  infbench-tui sweep bert-tiny --backend ort --threads 1,2,4 --exec-mode seq,par\n"
        "  infbench-tui sweep bert-tiny -b ort -b ov --threads 1,2      # both backends, one run\n"
        "  infbench-tui sweep bert-small -b ov --streams 1,2 --hint latency,throughput --batch 1,8 "
        "--objective throughput --headless --json sweep.json\n",
    )
    add_plan_arguments(p)
    p.add_argument(
        "-b",
        "--backend",
        action="append",
        metavar="NAME[:k=v,…]",
        help="a backend to sweep, repeatable (onnxruntime/ort, openvino/ov, torch, null); each is "
        "swept over the grid flags it has; options after a colon apply to every grid point of "
        "that backend",
    )
    for flag, (key, kind) in AXES.items():
        values = "N,N,…" if kind is int else ",".join(kind)
        has = "/".join(SHORT.get(b, b) for b, keys in BACKEND_AXES.items() if key in keys)
        p.add_argument(flag, metavar=values, help=f"comma-separated {key} values to sweep ({has})")
    p.add_argument(
        "-d",
        "--duration",
        type=float,
        default=3.0,
        metavar="S",
        help="minimum measured seconds per configuration (default 3)",
    )
    p.add_argument(
        "-n",
        "--iterations",
        type=int,
        default=30,
        metavar="N",
        help="minimum measured calls per configuration (default 30)",
    )
    p.add_argument(
        "--objective",
        choices=("latency", "throughput"),
        default="latency",
        help="recommend for lowest median latency per call (default) or highest samples/s",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=0.05,
        metavar="X",
        help="noise band: a gain over the default must exceed this fraction (default 0.05)",
    )
    p.add_argument("--headless", action="store_true", help="no TUI: progress bars, then the sweep table")
    p.add_argument("--json", metavar="PATH", help="write the report + 'sweep' as JSON ('-': stdout)")
    p.add_argument("--save", metavar="PATH", help="session file to record to; never overwritten")
    p.add_argument("--no-monitors", action="store_true", help="do not sample CPU/memory/GPU monitors")
    return p


def parse_list(flag: str, text: str, kind: Any) -> list[Any]:
    """``"1,2,4"`` → [1, 2, 4] (positive ints) or checked choices; duplicates dropped; ConfigError if bad."""
    items = [t.strip().lower() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{flag} {text!r}: empty list; give values separated by commas")
    out: list[Any] = []
    for item in items:
        if kind is int:
            if not item.isdigit() or int(item) < 1:
                raise ConfigError(f"{flag} {text!r}: {item!r} is not a positive integer; e.g. {flag} 1,2,4")
            value: Any = int(item)
        else:
            value = _ALIASES.get(item, item)
            if value not in kind:
                raise ConfigError(f"{flag} {text!r}: {item!r} is not one of {', '.join(kind)}")
        if value not in out:
            out.append(value)
    return out


def build_grid(args: argparse.Namespace) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """Per backend given, in order: (canonical backend, fixed options, grid option dicts); ConfigError when bad.

    Every backend given is swept: over the grid flags it has (a flag only some of the backends have applies to
    those, and a note names the others); a flag none of them has, a backend given twice or an empty grid is
    an error.
    """
    from infbench.engines.base import canonical_backend
    from infbench.plan.spec import parse_backend_arg

    if not 0 <= args.threshold < 1:
        raise ConfigError(f"--threshold must be a fraction in [0, 1), got {args.threshold}")
    if not args.backend:
        raise ConfigError("sweep needs --backend NAME (onnxruntime/ort, openvino/ov or torch; repeatable)")
    backends: list[tuple[str, dict[str, Any], str]] = []
    for arg in args.backend:
        name, fixed = parse_backend_arg(arg)
        backend = canonical_backend(name)
        if any(b == backend for b, _f, _a in backends):
            raise ConfigError(
                f"--backend {arg}: {backend} is given twice; a sweep takes each backend once "
                "(options after a colon apply to every grid point: sweep them with the grid flags)"
            )
        backends.append((backend, fixed, arg))
    values: dict[str, list[Any]] = {}
    for flag, (key, kind) in AXES.items():
        text = getattr(args, flag.lstrip("-").replace("-", "_"))
        if text is None:
            continue
        takers = [b for b, _f, _a in backends if key in BACKEND_AXES.get(b, ("batch",))]
        if not takers:
            if len(backends) == 1:
                allowed = BACKEND_AXES.get(backends[0][0], ("batch",))
                have = ", ".join(f for f, (k, _) in AXES.items() if k in allowed)
                raise ConfigError(f"{flag}: {backends[0][0]} has no such option (it sweeps {have})")
            raise ConfigError(f"{flag}: none of {', '.join(b for b, _f, _a in backends)} has this option")
        values[key] = parse_list(flag, text, kind)
    if not values:
        raise ConfigError("empty grid: give values to sweep, e.g. --threads 1,2,4 --batch 1,8")
    from infbench.analysis.sweep import grid_configs

    out = []
    for backend, fixed, arg in backends:
        allowed = BACKEND_AXES.get(backend, ("batch",))
        axes = {key: vals for key, vals in values.items() if key in allowed}
        for key in axes:
            if key in fixed:
                flag = next(f for f, (k, _) in AXES.items() if k == key)
                raise ConfigError(f"{flag}: {key} is also fixed in --backend {arg!r}; give it once")
        out.append((backend, fixed, grid_configs(axes) if axes else []))
    total = sum(len(grid) + 1 for _b, _f, grid in out)  # + each backend's default (at most)
    if total > MAX_CONFIGS:
        raise ConfigError(f"the grid has {total} configurations (over {MAX_CONFIGS}): give fewer values")
    return out


def grid_notes(args: argparse.Namespace, backends: list[str]) -> list[str]:
    """A line per grid flag that some of the swept `backends` do not have (they are swept without it)."""
    lines = []
    for flag, (key, _kind) in AXES.items():
        if getattr(args, flag.lstrip("-").replace("-", "_")) is None:
            continue
        without = [b for b in backends if key not in BACKEND_AXES.get(b, ("batch",))]
        if without:
            lines.append(
                f"{flag}: {', '.join(without)} {'has' if len(without) == 1 else 'have'} no such option, "
                "so {} {} swept without it".format(*(("it", "is") if len(without) == 1 else ("they", "are")))
            )
    return lines


def sweep_plan(args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]], dict[str, str]]:
    """(RunPlan: per backend its default, then one BackendSpec per grid point; grid description; default
    label per backend).

    Raises:
        ConfigError, ModelError, BackendUnavailable: bad grid, model (checked before anything starts) or backend.
    """
    from infbench.analysis.sweep import config_label, is_default_config
    from infbench.engines.base import BACKENDS
    from infbench.plan.spec import BackendSpec

    grids = build_grid(args)
    unset = {"threads": None, "inter_threads": None, "batch": 1, "aa": False}  # the grid sets these per point
    base = argparse.Namespace(**{**vars(args), **unset})
    # validates model, workload, durations, installed backends; applies --device
    plan = plan_from_args(base, backends=[b for b, _f, _g in grids])
    if any(BACKENDS[b].needs != "none" for b, _f, _g in grids):
        from infbench.engines.models import resolve_model

        resolve_model(
            plan.model
        )  # a missing or unusable model: one line before anything is printed or started
    specs, described, defaults = [], [], {}
    for (backend, fixed, grid), base_spec in zip(grids, plan.backends):
        common = dict(base_spec.options)
        prefix = SHORT.get(backend, backend)
        mine_specs, mine, default_label = [], [], None
        for options in grid or ([{}] if fixed else []):  # no grid flag of its own: its fixed options, if any
            label = config_label(prefix, options if options or not fixed else fixed)
            is_default = not fixed and is_default_config(options)
            if is_default and default_label is None:
                default_label = label
            mine_specs.append(BackendSpec(backend, label, {**common, **fixed, **options}))
            mine.append(
                {"label": label, "backend": backend, "options": {**fixed, **options}, "default": is_default}
            )
        if default_label is None:
            default_label = f"{prefix} default"
            mine_specs.insert(0, BackendSpec(backend, default_label, dict(common)))
            mine.insert(0, {"label": default_label, "backend": backend, "options": {}, "default": True})
        # the default first: the runner takes the first backend as the parity reference
        order = sorted(range(len(mine_specs)), key=lambda i: mine_specs[i].label != default_label)
        specs += [mine_specs[i] for i in order]
        described += [mine[i] for i in order]
        defaults[backend] = default_label
    plan = dataclasses.replace(plan, backends=tuple(specs))
    return plan, described, defaults


def run(args: argparse.Namespace) -> int:
    """Run the sweep (live TUI or headless); print table, Pareto set, recommendation; exit code as `run`."""
    from infbench.run.headless import check_output_paths

    check_output_paths(args)
    plan, grid, defaults = sweep_plan(args)
    for line in grid_notes(args, list(defaults)):
        sys.stderr.write(f"infbench-tui: {line}\n")
    if args.headless:
        report, samples, code = _run_headless(plan, args)
    else:
        report, samples, code = _run_live(plan, args)
        if report is None:  # nothing was recorded (quit before the run started)
            return code
    from infbench.analysis.sweep import sweep_summary

    summary = sweep_summary(
        report["backends"],
        grid,
        next(iter(defaults.values())),
        args.objective,
        samples,
        args.threshold,
        paired=plan.schedule == "interleaved",
        defaults=defaults,
    )
    report["sweep"] = summary
    print_sweep(report)
    from infbench.run.headless import exit_code, write_json

    if args.json:
        write_json(args.json, report)
    return exit_code(report, code == 130)


def _samples(data: Any, labels: list[str]) -> dict[str, Any]:
    """Measured calls of each configuration with their turns (the CIs resample turns / rounds)."""
    from infbench.analysis.turns import calls_of

    return {label: calls_of(data, label)[0] for label in labels}


def _run_headless(plan: Any, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Run with Rich progress on stderr as `run --headless`; (report, samples, 0, or 130 if interrupted)."""
    from infbench.analysis.summary import build_report
    from infbench.run.headless import announce_saved, record_headless

    rec = record_headless(plan, args, f"infbench sweep: {len(plan.backends)} configurations,")
    report = build_report(rec.store)
    report["session"] = str(rec.path)
    announce_saved(rec.path)
    return report, _samples(rec.store, plan.labels), 130 if rec.outcome == "interrupted" else 0


def _run_live(plan: Any, args: argparse.Namespace) -> tuple[dict[str, Any] | None, dict[str, Any], int]:
    """Run in the live TUI (every configuration a panel), then read the session back (report None if none)."""
    from infbench.analysis.summary import build_report
    from infbench.sessions.paths import default_session_path
    from infbench.sessions.reader import open_session
    from infbench.tui.launch import run_live

    if not args.save:  # pick the path here so the session can be read back after the TUI closes
        args.save = str(default_session_path(Path(plan.model).name))
    code = run_live(plan, args)
    path = Path(args.save).expanduser()
    if not path.exists() or path.stat().st_size == 0:
        return None, {}, code
    data = open_session(path)
    try:
        report = build_report(data)
        samples = _samples(data, plan.labels)
    finally:
        data.close()
    report["session"] = str(path)
    return report, samples, 130 if code == 130 else 0


def recommendation_line(rec: dict[str, Any] | None, several: bool = False, head: str = "recommended") -> str:
    """``recommended: ort t2 i1 seq b1 — median 4.10 ms, 1.32× faster than the default [1.28–1.36]``.

    With `several` backends swept the default is named (``than ort default``).
    """
    from infbench.report.results import fmt_ms

    if rec is None:
        return (
            f"no {head}: no configuration finished ok"
            if head == "recommended"
            else f"{head}: no configuration finished ok"
        )
    the_default = rec["default_label"] if several else "the default"
    if rec["metric"] == "median_ms":
        what, better = f"median {fmt_ms(rec['value'])}", f"faster than {the_default}"
    else:
        what, better = f"{rec['value']:,.1f} samples/s", f"{the_default}'s throughput"
    line = f"{head}: {rec['label']} — {what}"
    if rec["margin"] is None:
        return f"{line} ({rec['verdict']})"
    if rec["label"] == rec["default_label"]:
        return f"{line}: {'its' if several else 'the'} default configuration is already the best measured"
    ci = rec.get("margin_ci95")
    line += f", {rec['margin']:.2f}× {better}" + (f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else "")
    line += f" (95 % CI: {rec['ci_method']})" if ci and rec.get("ci_method") else ""
    return line if rec["verdict"] == "gain" else f"{line}: {rec['verdict']}"


def _options_text(options: dict[str, Any], default: bool) -> str:
    text = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{text} (default)".strip() if default else text


def _methods_caption(results: dict[str, Any]) -> str:
    """`` over 24 turns`` when every configuration's CI used the same method, else `` (method per row: JSON)``."""
    from infbench.report.results import short_method

    methods = {short_method((r.get("latency_ms") or {}).get("ci_method")) for r in results.values()} - {""}
    if len(methods) == 1:
        return f" over {methods.pop()}"
    return " (method per configuration in the JSON)" if methods else ""


def print_sweep(report: dict[str, Any]) -> None:
    """The sweep table (options, median [CI], p99, samples/s, status, Pareto ★), Pareto set and advice."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.measure import Measurement
    from rich.table import Table

    from infbench.report.results import STATUS_COLOURS, WIN, _ci, fmt_ms

    sweep, results = report["sweep"], report["backends"]
    pareto, rec = set(sweep["pareto"]), sweep["recommendation"] or {}
    wl = (report.get("plan") or {}).get("workload") or {}
    model = (report.get("plan") or {}).get("model", "?")
    table = Table(
        title=escape(f"sweep {model}  seq {wl.get('seq', '?')}  objective {sweep['objective']}"),
        box=box.SIMPLE_HEAD,
        caption=f"{WIN} Pareto set (latency vs samples/s) · → recommended · [..] bootstrap 95 % CI"
        + _methods_caption(results),
    )
    for col in ("configuration", "options", "median", "p99", "samples/s", "status", "pareto"):
        table.add_column(
            col,
            justify="left" if col in ("configuration", "options", "status") else "right",
            no_wrap=col != "options",
        )
    for item in sweep["grid"]:
        r = results.get(item["label"]) or {}
        lat, sps, status = r.get("latency_ms") or {}, r.get("samples_per_s"), str(r.get("status"))
        colour = STATUS_COLOURS.get(status, "red")
        table.add_row(
            escape(("→ " if item["label"] == rec.get("label") else "  ") + item["label"]),
            escape(_options_text(item["options"], item["default"])),
            fmt_ms(lat.get("median")) + _ci(lat.get("median_ci95")),
            fmt_ms(lat.get("p99")),
            "–" if sps is None else f"{sps:,.1f}",
            f"[{colour}]{escape(status)}[/{colour}]",
            WIN if item["label"] in pareto else "",
        )
    out = Console()
    need = Measurement.get(out, out.options.update_width(10_000), table).maximum
    if need > out.width and not out.is_terminal:  # a file or pipe: one row per line, at the width it needs
        out = Console(width=need)
    out.print(table)
    for label, r in results.items():
        if r.get("status") != "ok":
            why = r.get("error") or "; ".join(r.get("degraded_reasons") or [])
            out.print(f"  [yellow]{escape(label)}[/yellow]: {escape(str(why))}")
    out.print(f"Pareto set: {escape(', '.join(sweep['pareto']) or '(none)')}")
    by_backend = sweep.get("by_backend") or {}
    for backend, best in by_backend.items():
        out.print(escape(recommendation_line(best, True, f"best {backend}")), soft_wrap=True)
    out.print(
        escape(recommendation_line(sweep["recommendation"], bool(by_backend))), style="bold", soft_wrap=True
    )
