"""Rendering of the analysis part of a report: fair comparison, findings per backend, stability warnings."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from infbench.analysis.findings import cause_text

VERDICT_WORDS = {
    "baseline": "fastest",
    "slower": "slower",
    "faster": "faster",
    "no significant difference": "no significant difference",
}


def _band(comp: dict[str, Any]) -> str:
    src = "measured by A/A" if comp.get("threshold_source") == "aa" else "default"
    return f"noise band ±{100 * comp.get('threshold', 0):.1f} % ({src})"


def _aa_line(comp: dict[str, Any]) -> str | None:
    aa = comp.get("aa") or {}
    if "median_ratio_ci95" not in aa:
        return None
    lo, hi = aa["median_ratio_ci95"]
    return (
        f"A/A: {aa['b']} / {aa['a']} median ratio {aa['median_ratio']:.3f} [{lo:.3f}–{hi:.3f}] "
        f"({aa.get('ci_method', '')}) → noise band ±{100 * aa['noise_band']:.1f} %"
    )


COMPARISON_COLUMNS = ("backend", "median ratio [95% CI]", "p99 ratio [95% CI]", "p", "verdict", "CI method")
TABLE_HEADERS = {
    "median ratio [95% CI]": "median ratio\n[95 % CI]",
    "p99 ratio [95% CI]": "p99 ratio\n[95 % CI]",
}


AA_VERDICT = "A/A twin: sets the noise band"


def comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(backend, median ratio [CI], p99 ratio [CI], p, verdict, CI method) rows of the fair comparison.

    With an A/A pair (`run --aa`) a last row shows the twin against its original (not against the fastest):
    its spread sets the noise band.
    """
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    rows = []
    for label, r in (comp.get("rows") or {}).items():
        lo, hi = r["median_ratio_ci95"]
        plo, phi = r["p99_ratio_ci95"]
        rows.append(
            (
                label,
                f"{r['median_ratio']:.3f} [{lo:.3f}–{hi:.3f}]",
                f"{r['p99_ratio']:.3f} [{plo:.3f}–{phi:.3f}]",
                f"{r['p_value']:.2g}",
                VERDICT_WORDS.get(r["verdict"], r["verdict"]),
                str(r.get("ci_method") or ""),
            )
        )
    aa = comp.get("aa") or {}
    if "median_ratio_ci95" in aa:
        lo, hi = aa["median_ratio_ci95"]
        p99 = (
            f"{aa['p99_ratio']:.3f} [{aa['p99_ratio_ci95'][0]:.3f}–{aa['p99_ratio_ci95'][1]:.3f}]"
            if aa.get("p99_ratio_ci95")
            else "–"
        )
        p = f"{aa['p_value']:.2g}" if aa.get("p_value") is not None else "–"
        rows.append(
            (
                aa["b"],
                f"{aa['median_ratio']:.3f} [{lo:.3f}–{hi:.3f}]",
                p99,
                p,
                f"{AA_VERDICT} (vs {aa['a']})",
                str(aa.get("ci_method") or ""),
            )
        )
    return rows


def _show_comparison(report: dict[str, Any], rows: list[Any]) -> bool:
    """Two backends to compare, or an A/A pair (whose band is worth showing with a single backend)."""
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    return len(rows) >= 2 or bool((comp.get("aa") or {}).get("median_ratio_ci95"))


MAX_FINDING_LINES = 5  # the slowdowns that lost the most time; the rest are in the JSON


def finding_lines(report: dict[str, Any]) -> list[str]:
    """One line per notable finding (warm-up, slowdown episodes ranked by time lost, burst vs sustained,
    detection that could not run, warnings), plain text."""
    lines: list[str] = []
    per = ((report.get("analysis") or {}).get("backends")) or {}
    for label, a in per.items():
        if a.get("warmup_end_s") is not None:
            lines.append(
                f"{label}: latency settled at {a['warmup_end_s']:.1f} s (warm-up end found from the data)"
            )
        bvs = a.get("burst_vs_sustained") or {}
        if bvs.get("sustained_slowdown"):
            lines.append(
                f"{label}: sustained latency {bvs['ratio']:.2f}× the first {bvs['burst_s']:g} s, slowdown "
                f"from {bvs.get('slowdown_start_s', 0):.1f} s"
            )
        detection = a.get("detection") or {}
        if detection and not detection.get("active"):
            lines.append(f"{label}: ⚠ {detection.get('message')}")
        episodes = sorted(
            (a.get("spikes") or []) + (a.get("shifts") or []), key=lambda e: -(e.get("lost_ms") or 0)
        )
        for item in episodes[:MAX_FINDING_LINES]:
            what = item.get("headline") or f"{item.get('kind', 'slowdown')} ×{item['ratio']:.2f}"
            span = (
                f"{item['t_s']:.1f}–{item['t_end_s']:.1f} s"
                if item.get("t_end_s") is not None
                else f"{item['t_s']:.1f} s"
            )
            lines.append(f"{label}: {what} at {span} — {cause_text(item.get('attribution'))}")
        if len(episodes) > MAX_FINDING_LINES:
            lines.append(f"{label}: … {len(episodes) - MAX_FINDING_LINES} more slowdowns (see --format json)")
        for warning in a.get("warnings") or []:
            lines.append(f"{label}: ⚠ {warning}")
    return lines


def print_analysis(console: Any, report: dict[str, Any]) -> None:
    """Print the fair comparison table and the findings."""
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    rows = comparison_rows(report)
    if _show_comparison(report, rows):
        from rich import box

        methods = {r[-1] for r in rows if r[-1]}
        shared = (
            len(methods) <= 1
        )  # one method for every row: say it once under the table, keep the CIs whole
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


def analysis_markdown(report: dict[str, Any]) -> str:
    """The same as `print_analysis`, as Markdown."""
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    rows = comparison_rows(report)
    out: list[str] = []
    if _show_comparison(report, rows):
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
