"""`infbench-tui sweep`: engines' option grids in one interleaved run; table, Pareto set, advice.

Which grid flags an engine takes, and whether each value is valid, come from the engine's declared option
schema (`engines.options`): every flag and value is checked before anything starts. The whole sweep is stored
in the plan (`plan.spec.SweepSpec`), so `report SESSION` redraws the same table and recommendation.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infbench.commands.plan_args import add_plan_arguments
from infbench.errors import BackendUnavailable, ConfigError
from infbench.plan.build import plan_from_args
from infbench.plan.spec import RunPlan, SweepSpec

log = logging.getLogger(__name__)

MAX_CONFIGS = 64
BATCH = "batch"  # the workload axis: every engine takes it (each configuration runs its own batch size)
# grid flag → (option name, help)
AXES: dict[str, tuple[str, str]] = {
    "--threads": ("threads", "intra-op threads (each engine's --threads option)"),
    "--inter-threads": ("inter_threads", "inter-op threads (each engine's --inter-threads option)"),
    "--exec-mode": ("execution_mode", "execution mode"),
    "--graph-opt": ("graph_opt", "graph optimisation level"),
    "--streams": ("streams", "inference streams"),
    "--hint": ("hint", "performance hint"),
    "--batch": (BATCH, "batch size of each configuration (every engine)"),
}
# Options named by a global flag: each engine declares which of its options receives it.
_VIA = {"threads": "thread_option", "inter_threads": "inter_thread_option"}
GRID_FLAG = "--grid"


@dataclass(frozen=True)
class EngineGrid:
    """One swept engine: its fixed options, its axes and the option dict of every grid point.

    Attributes:
        backend: canonical engine name.
        prefix: the label prefix (its shortest name: ``ort``).
        arg: the ``--backend`` argument it came from.
        fixed: typed options fixed for every grid point (``-b ort:graph_opt=basic``).
        axes: option → typed values swept, in flag order.
        points: one option dict per grid point (empty when the engine takes none of the grid flags).
        defaults: option → the value the engine uses when it is not given (declared defaults, plus batch).
    """

    backend: str
    prefix: str
    arg: str
    fixed: dict[str, Any]
    axes: dict[str, list[Any]]
    points: list[dict[str, Any]]
    defaults: dict[str, Any]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the `sweep` subcommand (run's plan arguments, with list-valued grid flags)."""
    p = sub.add_parser(
        "sweep",
        help="sweep backend options (threads, batch, …) and recommend a configuration",
        description="Run every combination of the given option values of a backend, plus its default "
        "configuration, in one interleaved run recorded as a session. Several backends (-b ort -b "
        "ov) are each swept over the grid flags they have, all in the same run; a flag none of "
        "them has is an error. Which options a backend has, and their valid values, are those "
        "its engine declares (README, `infbench-tui models`); --grid OPTION=V1,V2 sweeps any of "
        "them. Ends with a table, the latency-vs-throughput Pareto set and a recommended "
        "configuration with its margin over its backend's default (and, with several backends, "
        "the best of each); `report SESSION` prints them again. Exit code: 0 all ok, 1 any "
        "failed or degraded, 2 bad arguments or input (missing model, unwritable --json/--save), "
        "130 interrupted.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve",
        epilog="examples:\n"
        "  infbench-tui sweep bert-tiny --backend ort --threads 1,2,4 --exec-mode seq,par\n"
        "  infbench-tui sweep bert-tiny -b ort -b ov --threads 1,2      # both backends, one run\n"
        "  infbench-tui sweep bert-small -b ov --streams 1,2 --hint latency,throughput --batch 1,8 "
        "--objective throughput --headless --json sweep.json\n"
        "  infbench-tui sweep bert-tiny -b null --grid keep=all,1000\n",
    )
    add_plan_arguments(p)
    p.add_argument(
        "-b",
        "--backend",
        action="append",
        metavar="NAME[:k=v,…]",
        help="a backend to sweep, repeatable; each is swept over the grid flags it has; options after a "
        "colon apply to every grid point of that backend",
    )
    for flag, (key, what) in AXES.items():
        p.add_argument(
            flag, metavar="V1,V2,…", help=f"comma-separated values of option {key} to sweep: {what}"
        )
    p.add_argument(
        GRID_FLAG,
        action="append",
        metavar="OPTION=V1,V2,…",
        help="sweep any option of the swept backends (repeatable), e.g. --grid graph_opt=basic,all",
    )
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


def _show(text: str) -> str:
    """`text` quoted for a one-line message (control characters escaped, long text cut)."""
    shown = repr(text)
    return shown if len(shown) <= 50 else shown[:47] + "…'"


def parse_values(flag: str, text: str, parse: Callable[[str], Any]) -> list[Any]:
    """``"1,2,4"`` → each item through `parse` (an option's, raising ConfigError), duplicates dropped.

    Raises:
        ConfigError: an empty list, or a value `parse` rejects (one line, prefixed with the flag).
    """
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{flag} {_show(text)}: empty list; give values separated by commas")
    out: list[Any] = []
    for item in items:
        value = parse(item)
        if value not in out:
            out.append(value)
    return out


def _batch(item: str, where: str) -> int:
    if not item.isascii() or not item.isdigit() or int(item) < 1:
        raise ConfigError(f"{where}: {BATCH} must be an integer ≥ 1, got {_show(item)}")
    return int(item)


def engine_option(info: Any, key: str) -> str | None:
    """The name of engine `info`'s option that grid option `key` sweeps (None when it has none): its own
    option for a global flag (``--threads`` → its `thread_option`), else the option called `key`."""
    if key == BATCH:
        return BATCH
    via = _VIA.get(key)
    name = getattr(info, via) if via else key
    return name if name and info.options.get(name) is not None else None


def short_name(info: Any) -> str:
    """An engine's label prefix: its first alias when shorter than its name (``ort``), else its name."""
    return info.aliases[0] if info.aliases and len(info.aliases[0]) < len(info.name) else str(info.name)


def _requested(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(flag as typed, grid option key, values text) per grid flag given, --grid entries last."""
    out = []
    for flag, (key, _what) in AXES.items():
        text = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if text is not None:
            out.append((flag, key, str(text)))
    for entry in getattr(args, "grid", None) or []:
        key, eq, values = str(entry).partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                f"{GRID_FLAG} {_show(str(entry))}: give OPTION=V1,V2,… e.g. {GRID_FLAG} threads=1,2"
            )
        name = key.strip().lower().replace("-", "_")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
            raise ConfigError(f"{GRID_FLAG} {_show(str(entry))}: {_show(key)} is not an option name")
        out.append((f"{GRID_FLAG} {name}", name, values))
    seen: dict[str, str] = {}
    for flag, key, _text in out:
        if key in seen:
            raise ConfigError(f"{flag}: option {key} is already swept by {seen[key]}; give it once")
        seen[key] = flag
    return out


def _fixed(info: Any, arg: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The typed fixed options of ``-b NAME:k=v`` (`batch` is the workload's, every engine takes it)."""
    rest = {k: v for k, v in raw.items() if k != BATCH}
    fixed = info.options.validate(info.name, rest, where=f"--backend {_show(arg)}")
    if BATCH in raw:
        fixed[BATCH] = _batch(str(raw[BATCH]).strip(), f"--backend {_show(arg)}")
    return dict(fixed)


def build_grid(args: argparse.Namespace) -> list[EngineGrid]:
    """Per backend given, in order, its grid; ConfigError (one line) when anything is bad.

    Every backend given is swept: over the grid flags its engine has an option for (a flag only some of them
    have applies to those, and a note names the others), each value parsed by that option. A flag none of
    them has, a bad value, a backend given twice, an option both fixed and swept, an empty grid or one over
    `MAX_CONFIGS` configurations is an error. Nothing is started or imported beyond the engines' declarations.
    """
    from infbench.engines.registry import canonical_backend, engine_info
    from infbench.plan.spec import parse_backend_arg

    if not 0 <= args.threshold < 1:
        raise ConfigError(f"--threshold must be a fraction in [0, 1), got {args.threshold}")
    if not args.backend:
        raise ConfigError("sweep needs --backend NAME (repeatable), e.g. --backend ort --threads 1,2,4")
    engines: list[tuple[Any, str, dict[str, Any]]] = []
    for arg in args.backend:
        name, raw = parse_backend_arg(arg)
        try:
            info = engine_info(canonical_backend(name))
        except BackendUnavailable as exc:
            raise ConfigError(f"--backend {_show(arg)}: {exc}") from None
        if any(i.name == info.name for i, _a, _f in engines):
            raise ConfigError(
                f"--backend {_show(arg)}: {info.name} is given twice; a sweep takes each backend once "
                "(options after a colon apply to every grid point: sweep them with the grid flags)"
            )
        engines.append((info, arg, _fixed(info, arg, raw)))
    requested = _requested(args)
    if not requested:
        raise ConfigError("empty grid: give values to sweep, e.g. --threads 1,2,4 --batch 1,8")
    axes: list[dict[str, list[Any]]] = [{} for _ in engines]
    for flag, key, text in requested:
        options = [engine_option(info, key) for info, _a, _f in engines]
        takers = [(i, opt) for i, opt in enumerate(options) if opt is not None]
        if not takers:
            raise ConfigError(_no_taker(flag, key, [info for info, _a, _f in engines]))
        for i, opt in takers:
            info, arg, fixed = engines[i]
            if opt in fixed:
                raise ConfigError(f"{flag}: {opt} is also fixed in --backend {_show(arg)}; give it once")
            parse = _option_parser(info, opt, flag, text)
            axes[i][opt] = parse_values(flag, text, parse)
    from infbench.analysis.sweep import grid_configs

    out = []
    for (info, arg, fixed), mine in zip(engines, axes):
        defaults = {o.name: o.default for o in info.options if o.default is not None}
        defaults[BATCH] = 1
        points = grid_configs(mine) if mine else []
        for (
            point
        ) in points:  # options that depend on each other (torch mode needs compile=true) per combination
            combo = {k: v for k, v in {**fixed, **point}.items() if k != BATCH}
            info.options.validate(
                info.name,
                combo,
                where=f"--backend {arg} at {', '.join(f'{k}={v}' for k, v in point.items())}",
            )
        out.append(EngineGrid(info.name, short_name(info), arg, fixed, mine, points, defaults))
    total = sum(len(g.points) + 1 for g in out)  # + each backend's default (at most)
    if total > MAX_CONFIGS:
        raise ConfigError(f"the grid has {total} configurations (over {MAX_CONFIGS}): give fewer values")
    return out


def _option_parser(info: Any, opt: str, flag: str, text: str) -> Callable[[str], Any]:
    where = f"{flag} {_show(text)}"
    if opt == BATCH:
        return lambda item: _batch(item, where)
    option = info.options.get(opt)
    return lambda item: option.parse(item, where=where)


def _no_taker(flag: str, key: str, infos: list[Any]) -> str:
    if len(infos) > 1:
        return f"{flag}: none of {', '.join(i.name for i in infos)} has this option"
    info = infos[0]
    flags = [f for f, (k, _w) in AXES.items() if engine_option(info, k) is not None]
    close = (
        difflib.get_close_matches(key, info.options.names, n=1, cutoff=0.6)
        if flag.startswith(GRID_FLAG)
        else []
    )
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (
        f"{flag}: {info.name} has no option {key}{hint}; its grid flags: {', '.join(flags)}; "
        f"its options (for {GRID_FLAG}): {', '.join(info.options.names) or 'none'}"
    )


def grid_notes(args: argparse.Namespace, grids: list[EngineGrid]) -> list[str]:
    """A line per grid flag that some of the swept engines do not have (they are swept without it)."""
    from infbench.engines.registry import engine_info

    lines = []
    for flag, key, _text in _requested(args):
        without = [g.backend for g in grids if engine_option(engine_info(g.backend), key) is None]
        if without:
            lines.append(
                f"{flag}: {', '.join(without)} {'has' if len(without) == 1 else 'have'} no such option, "
                "so {} {} swept without it".format(*(("it", "is") if len(without) == 1 else ("they", "are")))
            )
    return lines


def sweep_plan(args: argparse.Namespace, grids: list[EngineGrid] | None = None) -> RunPlan:
    """The RunPlan of the sweep: per engine its default, then one BackendSpec per grid point; `plan.sweep`
    describes the grid (stored in the session).

    Raises:
        ConfigError, ModelError, BackendUnavailable: bad grid, model (checked before anything starts) or backend.
    """
    from infbench.analysis.sweep import config_label, is_default_config
    from infbench.engines.registry import engine_info
    from infbench.plan.spec import BackendSpec

    grids = build_grid(args) if grids is None else grids
    unset = {"threads": None, "inter_threads": None, "batch": 1, "aa": False}
    base = argparse.Namespace(**{**vars(args), **unset})  # the grid sets these per point
    # validates model, workload, durations, installed backends; applies --device
    plan = plan_from_args(base, backends=[g.backend for g in grids])
    if any(engine_info(g.backend).needs != "none" for g in grids):
        from infbench.engines.models import resolve_model

        # A missing or unusable model: one line before anything is printed or started
        resolve_model(plan.model)
    specs: list[BackendSpec] = []
    points: list[dict[str, Any]] = []
    defaults: dict[str, str] = {}
    for g, base_spec in zip(grids, plan.backends):
        common = dict(base_spec.options)
        mine: list[tuple[BackendSpec, dict[str, Any]]] = []
        default_label = None
        for options in g.points or ([{}] if g.fixed else []):  # no grid flag of its own: its fixed options
            label = config_label(g.prefix, options if options or not g.fixed else g.fixed)
            is_default = not g.fixed and is_default_config(options, g.defaults)
            if is_default and default_label is None:
                default_label = label
            spec = dataclasses.replace(base_spec, label=label, options={**common, **g.fixed, **options})
            point = {
                "label": label,
                "backend": g.backend,
                "options": {**g.fixed, **options},
                "default": is_default,
            }
            mine.append((spec, point))
        if default_label is None:
            default_label = f"{g.prefix} default"
            point = {"label": default_label, "backend": g.backend, "options": {}, "default": True}
            mine.insert(0, (dataclasses.replace(base_spec, label=default_label, options=dict(common)), point))
        # the default first: among equals the runner takes the first loaded variant as the parity reference
        mine.sort(key=lambda item: item[0].label != default_label)
        specs += [spec for spec, _p in mine]
        points += [p for _s, p in mine]
        defaults[g.backend] = default_label
    sweep = SweepSpec(
        objective=args.objective,
        threshold=float(args.threshold),
        axes={g.backend: {k: list(v) for k, v in g.axes.items()} for g in grids},
        fixed={g.backend: dict(g.fixed) for g in grids},
        defaults=defaults,
        points=tuple(points),
    )
    return dataclasses.replace(plan, backends=tuple(specs), sweep=sweep)


def run(args: argparse.Namespace) -> int:
    """Run the sweep (live TUI or headless); print table, Pareto set, recommendation; exit code as `run`."""
    from rich.console import Console

    from infbench.report.sweep import print_sweep
    from infbench.run.headless import check_output_paths, exit_code, write_json

    check_output_paths(args)
    grids = build_grid(args)
    plan = sweep_plan(args, grids)
    for line in grid_notes(args, grids):
        sys.stderr.write(f"infbench-tui: {line}\n")
    report, result, code = _run_headless(plan, args) if args.headless else _run_live(plan, args)
    if report is None:  # nothing was recorded (quit before the run started)
        return code
    if result is not None:
        print_sweep(Console(), result)
    if args.json:
        data = report.to_json_dict()
        data["sweep"] = result.to_dict() if result is not None else None
        write_json(args.json, data)
    return exit_code(report, code == 130)


def _run_headless(plan: RunPlan, args: argparse.Namespace) -> tuple[Any, Any, int]:
    """Run with Rich progress on stderr as `run --headless`; (report, sweep result, 0 or 130 if interrupted)."""
    from infbench.analysis.summary import build_report
    from infbench.analysis.sweep import sweep_result
    from infbench.run.headless import announce_saved, record_headless

    rec = record_headless(plan, args, f"infbench sweep: {len(plan.backends)} configurations,")
    report = build_report(rec.store, session=str(rec.path))
    result = sweep_result(rec.store, report.variants)
    announce_saved(rec.path)
    return report, result, 130 if rec.outcome == "interrupted" else 0


def _run_live(plan: RunPlan, args: argparse.Namespace) -> tuple[Any, Any, int]:
    """Run in the live TUI (every configuration a panel), then read the session back (report None if none)."""
    from infbench.analysis.summary import build_report
    from infbench.analysis.sweep import sweep_result
    from infbench.sessions.paths import default_session_path
    from infbench.sessions.reader import open_session
    from infbench.tui.launch import run_live

    if not args.save:  # pick the path here so the session can be read back after the TUI closes
        args.save = str(default_session_path(Path(plan.model).name))
    code = run_live(plan, args)
    path = Path(args.save).expanduser()
    if not path.exists() or path.stat().st_size == 0:
        return None, None, code
    data = open_session(path)
    try:
        report = build_report(data, session=str(path))
        result = sweep_result(data, report.variants)
    finally:
        data.close()
    return report, result, 130 if code == 130 else 0
