"""Rendering of the analysis part of a report: fair comparison, findings per backend, stability warnings."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from infbench.analysis.findings import cause_text

VERDICT_WORDS = {"baseline": "fastest (baseline)", "slower": "slower", "faster": "faster",
                 "no significant difference": "no significant difference"}


def _band(comp: dict[str, Any]) -> str:
    src = "measured by A/A" if comp.get("threshold_source") == "aa" else "default"
    return f"noise band ±{100 * comp.get('threshold', 0):.1f} % ({src})"


def comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(backend, median ratio [CI], p99 ratio [CI], p, verdict) rows of the fair comparison."""
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    rows = []
    for label, r in (comp.get("rows") or {}).items():
        lo, hi = r["median_ratio_ci95"]
        plo, phi = r["p99_ratio_ci95"]
        rows.append((label, f"{r['median_ratio']:.3f} [{lo:.3f}–{hi:.3f}]",
                     f"{r['p99_ratio']:.3f} [{plo:.3f}–{phi:.3f}]", f"{r['p_value']:.2g}",
                     VERDICT_WORDS.get(r["verdict"], r["verdict"])))
    return rows


def finding_lines(report: dict[str, Any]) -> list[str]:
    """One line per notable finding (warm-up, spikes, shifts, burst vs sustained, warnings), plain text."""
    lines: list[str] = []
    per = ((report.get("analysis") or {}).get("backends")) or {}
    for label, a in per.items():
        if a.get("warmup_end_s") is not None:
            lines.append(f"{label}: latency settled at {a['warmup_end_s']:.1f} s (warm-up end found from the data)")
        bvs = a.get("burst_vs_sustained") or {}
        if bvs.get("sustained_slowdown"):
            lines.append(f"{label}: sustained latency {bvs['ratio']:.2f}× the first {bvs['burst_s']:g} s, slowdown "
                         f"from {bvs.get('slowdown_start_s', 0):.1f} s")
        for kind, items in (("spike", a.get("spikes") or []), ("shift", a.get("shifts") or [])):
            for item in items[:3]:
                what = item.get("kind", kind)
                lines.append(f"{label}: {what} ×{item['ratio']:.2f} at {item['t_s']:.1f} s — "
                             f"{cause_text(item.get('attribution'))}")
            if len(items) > 3:
                lines.append(f"{label}: … {len(items) - 3} more {kind}s (see --format json)")
        for warning in a.get("warnings") or []:
            lines.append(f"{label}: ⚠ {warning}")
    return lines


def print_analysis(console: Any, report: dict[str, Any]) -> None:
    """Print the fair comparison table and the findings."""
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    rows = comparison_rows(report)
    if len(rows) >= 2:
        table = Table(title=f"fair comparison vs the fastest — {_band(comp)}", title_justify="left")
        for col in ("backend", "median ratio [95% CI]", "p99 ratio [95% CI]", "p", "verdict"):
            table.add_column(col)
        for row in rows:
            table.add_row(*(escape(x) for x in row))
        console.print(table)
    for line in finding_lines(report):
        console.print(escape(line))


def analysis_markdown(report: dict[str, Any]) -> str:
    """The same as `print_analysis`, as Markdown."""
    comp = ((report.get("analysis") or {}).get("comparison")) or {}
    rows = comparison_rows(report)
    out: list[str] = []
    if len(rows) >= 2:
        out += [f"### Fair comparison vs the fastest ({_band(comp)})", "",
                "| backend | median ratio [95% CI] | p99 ratio [95% CI] | p | verdict |", "|---|---|---|---|---|"]
        out += [f"| {' | '.join(r)} |" for r in rows]
        out.append("")
    lines = finding_lines(report)
    if lines:
        out += ["### Findings", ""] + [f"- {x}" for x in lines] + [""]
    return "\n".join(out) + ("\n" if out else "")
