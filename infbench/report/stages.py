"""Report section "Where the time goes": per variant with call parts (a transformers ``pipeline``), the median
of each part and its share of the time in calls — ``tokenize 0.4 ms 12% · infer 2.8 ms 80% · post 0.3 ms 8%``
(`analysis.stages`)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from infbench.analysis.report_model import Report
from infbench.analysis.stages import OTHER, StageSplit
from infbench.metrics import fmt_ms

TITLE = "Where the time goes"
EXPLAIN = (
    "median per call of each stage, and its share of the time spent in calls; other: what no stage covers"
)
MIN_OTHER_SHARE = 0.005  # "other" below 0.5 % of the call is left out of the line


def stage_line(split: StageSplit) -> str:
    """``tokenize 0.4 ms 12% · infer 2.8 ms 80% · post 0.3 ms 8%`` (``other`` only when it counts)."""
    shown = [p for p in split.parts if p.name != OTHER or p.share >= MIN_OTHER_SHARE]
    return " · ".join(f"{p.name} {fmt_ms(p.median_ms)} {p.share * 100:.0f}%" for p in shown)


def _rows(report: Report) -> list[tuple[str, StageSplit]]:
    return [(label, v.stages) for label, v in report.variants.items() if v.stages is not None]


def print_section(console: Any, report: Report) -> None:
    """Print the section (nothing when no variant reported call parts)."""
    rows = _rows(report)
    if not rows:
        return
    console.print(f"[bold]{TITLE}[/bold] [dim]— {escape(EXPLAIN)}[/dim]")
    width = max(len(label) for label, _ in rows)
    for label, split in rows:
        calls = f"  [dim](median call {fmt_ms(split.call_median_ms)}, {split.calls:,} calls)[/dim]"
        console.print(f"  {escape(label.ljust(width))}  {escape(stage_line(split))}{calls}")


def section_markdown(report: Report) -> str:
    """The section as Markdown (``""`` when no variant reported call parts)."""
    rows = _rows(report)
    if not rows:
        return ""
    out = [f"### {TITLE}", "", f"{EXPLAIN}.", ""]
    out += [
        f"- `{label}`: {stage_line(split)} (median call {fmt_ms(split.call_median_ms)}, {split.calls:,} calls)"
        for label, split in rows
    ]
    return "\n".join(out) + "\n"
