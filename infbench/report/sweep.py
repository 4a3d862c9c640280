"""Sweep rendering: the configuration table, the Pareto set and the recommendation, as Rich or Markdown.

Reads an `analysis.sweep.SweepResult` by attribute; the end of a `sweep` and a `report` of its session print
the same text because both render the result computed from the same session.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from infbench.analysis.sweep import GAIN, ConfigResult, Recommendation, SweepResult
from infbench.metrics import MISSING, fmt_ms, metric
from infbench.report.results import short_method
from infbench.report.style import WIN, styled, verdict_markup
from infbench.vocab import Verdict

PARETO_MARK = WIN  # a configuration on the Pareto set
RECOMMENDED_MARK = "→"
_COLUMNS = ("configuration", "options", "median", "p99", "samples/s", "status", "pareto")


def recommendation_line(rec: Recommendation | None, several: bool = False, head: str = "recommended") -> str:
    """``recommended: ort t2 — median 4.10 ms, 1.32× faster than the default [1.28–1.36]``.

    With `several` engines swept the default is named (``than ort default``).
    """
    if rec is None:
        return (
            f"no {head}: no configuration finished ok"
            if head == "recommended"
            else f"{head}: no configuration finished ok"
        )
    the_default = rec.default_label if several else "the default"
    if rec.metric == "median_ms":
        what, better = f"median {fmt_ms(rec.value)}", f"faster than {the_default}"
    else:
        what, better = f"{rec.value:,.1f} samples/s", f"{the_default}'s throughput"
    line = f"{head}: {rec.label} — {what}"
    if rec.margin is None:
        return f"{line} ({rec.verdict})"
    if rec.label == rec.default_label:
        return f"{line}: {'its' if several else 'the'} default configuration is already the best measured"
    ci = rec.margin_ci95
    line += f", {rec.margin:.2f}× {better}" + (f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else "")
    line += f" (95 % CI: {rec.ci_method})" if ci and rec.ci_method else ""
    return line if rec.verdict == GAIN else f"{line}: {rec.verdict}"


def advice_lines(result: SweepResult) -> list[str]:
    """The lines under the table: each engine's best (with several engines), then the recommendation."""
    lines = [
        recommendation_line(best, True, f"best {backend}") for backend, best in result.by_backend.items()
    ]
    return [*lines, recommendation_line(result.recommendation, result.several)]


def _options_text(c: ConfigResult) -> str:
    text = ", ".join(f"{k}={v}" for k, v in c.options.items())
    return f"{text} (default)".strip() if c.default else text


def _ci_text(ci: tuple[float, float] | None) -> str:
    """``[4.01–4.22 ms]`` (the unit once when both ends share it), or "" without a CI."""
    if ci is None:
        return ""
    lo, hi = fmt_ms(ci[0]), fmt_ms(ci[1])
    unit = lo.rsplit(" ", 1)[-1]
    if hi.endswith(" " + unit):
        lo = lo[: -len(unit) - 1]
    return f"[{lo}–{hi}]"


def _methods_caption(result: SweepResult) -> str:
    """`` over 24 turns`` when every configuration's CI used the same method, else a pointer to the JSON."""
    methods = {short_method(c.ci_method) for c in result.configs} - {""}
    if len(methods) == 1:
        return f" over {methods.pop()}"
    return " (method per configuration in the JSON)" if methods else ""


def _sps(c: ConfigResult) -> str:
    return MISSING if c.samples_per_s is None else f"{c.samples_per_s:,.1f}"


def _title(result: SweepResult) -> str:
    return f"sweep {result.model}  seq {result.seq}  objective {result.objective}"


def _caption(result: SweepResult) -> str:
    return (
        f"{PARETO_MARK} Pareto set (latency vs samples/s) · {RECOMMENDED_MARK} recommended · [..] bootstrap "
        f"95 % CI{_methods_caption(result)}"
    )


def sweep_table(result: SweepResult) -> Table:
    """The Rich table: one row per configuration (options, median [CI], p99, samples/s, status, Pareto ★)."""
    table = Table(title=escape(_title(result)), box=box.SIMPLE_HEAD, caption=_caption(result))
    for col in _COLUMNS:
        heading = {"median": metric("median_ms").label, "p99": metric("p99_ms").label}.get(col, col)
        table.add_column(
            heading,
            justify="left" if col in ("configuration", "options", "status") else "right",
            no_wrap=col != "options",
        )
    best = result.recommendation.label if result.recommendation is not None else None
    pareto = set(result.pareto)
    for c in result.configs:
        ci = _ci_text(c.median_ci95)
        table.add_row(
            escape((f"{RECOMMENDED_MARK} " if c.label == best else "  ") + c.label),
            escape(_options_text(c)),
            fmt_ms(c.median_ms) + (f"\n{ci}" if ci else ""),
            fmt_ms(c.p99_ms),
            _sps(c),
            verdict_markup(c.verdict),
            PARETO_MARK if c.label in pareto else "",
        )
    return table


def print_sweep(console: Console, result: SweepResult) -> None:
    """Print the sweep table, why each configuration that is not ok is not, the Pareto set and the advice."""
    table = sweep_table(result)
    need = Measurement.get(console, console.options.update_width(10_000), table).maximum
    # A file or pipe: one row per line, as wide as needed
    if need > console.width and not console.is_terminal:
        console = Console(file=console.file, width=need)
    console.print(table)
    for c in result.configs:
        if c.verdict is not Verdict.OK:
            console.print(f"  {styled(c.label, c.verdict.tone)}: {escape(c.why or c.verdict.value)}")
    console.print(f"Pareto set: {escape(', '.join(result.pareto) or '(none)')}")
    lines = advice_lines(result)
    for line in lines[:-1]:
        console.print(escape(line), soft_wrap=True)
    console.print(escape(lines[-1]), style="bold", soft_wrap=True)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def sweep_markdown(result: SweepResult) -> str:
    """The sweep as Markdown: a heading, the table, the reasons, the Pareto set and the advice."""
    lines = [
        f"## {_md(_title(result))}",
        "",
        "| configuration | options | median [95 % CI] | p99 | samples/s | status | Pareto |",
        "|---|---|---:|---:|---:|---|:-:|",
    ]
    best = result.recommendation.label if result.recommendation is not None else None
    for c in result.configs:
        median = fmt_ms(c.median_ms) + (f" {_ci_text(c.median_ci95)}" if c.median_ci95 else "")
        label = f"**{RECOMMENDED_MARK} {c.label}**" if c.label == best else c.label
        lines.append(
            f"| {_md(label)} | {_md(_options_text(c))} | {median} | {fmt_ms(c.p99_ms)} | {_sps(c)} | "
            f"{c.verdict.value} | {PARETO_MARK if c.label in result.pareto else ''} |"
        )
    lines += ["", _md(_caption(result)), ""]
    lines += [
        f"- {_md(c.label)}: {_md(c.why or c.verdict.value)}"
        for c in result.configs
        if c.verdict is not Verdict.OK
    ]
    lines.append(f"Pareto set: {_md(', '.join(result.pareto) or '(none)')}")
    lines.append("")
    advice = advice_lines(result)
    lines += [f"- {_md(line)}" for line in advice[:-1]]
    lines.append(f"**{_md(advice[-1])}**")
    return "\n".join(lines) + "\n"
