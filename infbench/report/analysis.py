"""Rendering of the analysis part of a typed `Report`: fair comparison, findings per variant, warnings."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from infbench.analysis.compare import Comparison
from infbench.analysis.findings import cause_text
from infbench.analysis.report_model import FairComparison, Report

VERDICT_WORDS = {
    "baseline": "fastest",
    "slower": "slower",
    "faster": "faster",
    "no significant difference": "no significant difference",
}


def _band(comp: FairComparison) -> str:
    src = "measured by A/A" if comp.threshold_source == "aa" else "default"
    return f"noise band ±{100 * comp.threshold:.1f} % ({src})"


def _aa_line(comp: FairComparison) -> str | None:
    if comp.aa is None:
        return None
    c = comp.aa.comparison
    lo, hi = c.median_ratio_ci95
    return (
        f"A/A: {comp.aa.b} / {comp.aa.a} median ratio {c.median_ratio:.3f} [{lo:.3f}–{hi:.3f}] "
        f"({c.ci_method}) → noise band ±{100 * comp.aa.noise_band:.1f} %"
    )


def _comparison(report: Report) -> FairComparison | None:
    return report.analysis.comparison if report.analysis is not None else None


COMPARISON_COLUMNS = ("backend", "median ratio [95% CI]", "p99 ratio [95% CI]", "p", "verdict", "CI method")
TABLE_HEADERS = {
    "median ratio [95% CI]": "median ratio\n[95 % CI]",
    "p99 ratio [95% CI]": "p99 ratio\n[95 % CI]",
}


AA_VERDICT = "A/A twin: sets the noise band"


def _ratio(ratio: float, ci: tuple[float, float]) -> str:
    return f"{ratio:.3f} [{ci[0]:.3f}–{ci[1]:.3f}]"


def _row(label: str, c: Comparison, verdict: str) -> tuple[str, str, str, str, str, str]:
    return (
        label,
        _ratio(c.median_ratio, c.median_ratio_ci95),
        _ratio(c.p99_ratio, c.p99_ratio_ci95),
        f"{c.p_value:.2g}",
        verdict,
        c.ci_method,
    )


def comparison_rows(report: Report) -> list[tuple[str, str, str, str, str, str]]:
    """(backend, median ratio [CI], p99 ratio [CI], p, verdict, CI method) rows of the fair comparison.

    With an A/A pair (`run --aa`) a last row shows the twin against its original (not against the fastest):
    its spread sets the noise band.
    """
    comp = _comparison(report)
    if comp is None:
        return []
    rows = [_row(label, c, VERDICT_WORDS.get(c.verdict, c.verdict)) for label, c in comp.rows.items()]
    if comp.aa is not None:
        rows.append(_row(comp.aa.b, comp.aa.comparison, f"{AA_VERDICT} (vs {comp.aa.a})"))
    return rows


def _show_comparison(report: Report, rows: list[Any]) -> bool:
    """Two backends to compare, or an A/A pair (whose band is worth showing with a single backend)."""
    comp = _comparison(report)
    return len(rows) >= 2 or (comp is not None and comp.aa is not None)


MAX_FINDING_LINES = 5  # the slowdowns that lost the most time; the rest are in the JSON


def finding_lines(report: Report) -> list[str]:
    """One line per notable finding (warm-up, slowdown episodes ranked by time lost, burst vs sustained,
    detection that could not run, warnings), plain text."""
    lines: list[str] = []
    per = report.analysis.findings if report.analysis is not None else {}
    for label, a in per.items():
        if a.warmup_end_s is not None:
            lines.append(
                f"{label}: latency settled at {a.warmup_end_s:.1f} s (warm-up end found from the data)"
            )
        bvs = a.burst_vs_sustained
        if bvs is not None and bvs.sustained_slowdown:
            lines.append(
                f"{label}: sustained latency {bvs.ratio or 0:.2f}× the first {bvs.burst_s:g} s, slowdown "
                f"from {bvs.slowdown_start_s or 0:.1f} s"
            )
        if a.detection is not None and not a.detection.active:
            lines.append(f"{label}: ⚠ {a.detection.message()}")
        episodes = a.episodes_by_cost()
        for ep in episodes[:MAX_FINDING_LINES]:
            start = f"{ep.t_s:.1f}" if ep.t_s is not None else "?"
            span = f"{start}–{ep.t_end_s:.1f} s" if ep.t_end_s is not None else f"{start} s"
            lines.append(f"{label}: {ep.headline} at {span} — {cause_text(ep.attribution)}")
        if len(episodes) > MAX_FINDING_LINES:
            lines.append(f"{label}: … {len(episodes) - MAX_FINDING_LINES} more slowdowns (see --format json)")
        for warning in a.warnings:
            lines.append(f"{label}: ⚠ {warning}")
    return lines


def print_analysis(console: Any, report: Report) -> None:
    """Print the fair comparison table and the findings."""
    comp = _comparison(report)
    rows = comparison_rows(report)
    if comp is not None and _show_comparison(report, rows):
        from rich import box

        methods = {r[-1] for r in rows if r[-1]}
        # One method for every row: say it once under the table, keep the CIs whole
        shared = len(methods) <= 1
        table = Table(
            title=f"fair comparison vs the fastest — {_band(comp)}",
            title_justify="left",
            caption=f"95 % CIs: {next(iter(methods))}" if shared and methods else None,
            caption_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        columns = COMPARISON_COLUMNS[:-1] if shared else COMPARISON_COLUMNS
        for col in columns:
            wraps = col in ("backend", "verdict", "CI method")  # words wrap; numbers never
            table.add_column(
                TABLE_HEADERS.get(col, col),
                no_wrap=not wraps,
                overflow="fold",
                justify="left" if wraps else "right",
                min_width=11 if col == "verdict" else None,
            )
        for row in rows:  # a ratio's CI on the line under it: every CI is whole at 80 columns
            cells = [x.replace(" [", "\n[", 1) if "CI" in col else x for col, x in zip(columns, row)]
            table.add_row(*(escape(x) for x in cells))
        console.print(table)
        aa = _aa_line(comp)
        if aa:
            console.print(escape(aa))
    for line in finding_lines(report):
        console.print(escape(line))


def analysis_markdown(report: Report) -> str:
    """The same as `print_analysis`, as Markdown."""
    comp = _comparison(report)
    rows = comparison_rows(report)
    out: list[str] = []
    if comp is not None and _show_comparison(report, rows):
        out += [
            f"### Fair comparison vs the fastest ({_band(comp)})",
            "",
            f"| {' | '.join(COMPARISON_COLUMNS)} |",
            "|" + "---|" * len(COMPARISON_COLUMNS),
        ]
        out += [f"| {' | '.join(r)} |" for r in rows]
        aa = _aa_line(comp)
        out += ["", aa, ""] if aa else [""]
    lines = finding_lines(report)
    if lines:
        out += ["### Findings", ""] + [f"- {x}" for x in lines] + [""]
    return "\n".join(out) + ("\n" if out else "")
