"""Report section "Whole corpus" (``--whole-corpus N``): per variant the time of one full pass over the corpus
(median with its 95 % CI over the passes), sentences/s and real tokens/s (`analysis.corpus_time`)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from infbench.analysis.corpus_time import CorpusPasses
from infbench.analysis.report_model import Report
from infbench.metrics import fmt_ms, fmt_rate

TITLE = "Whole corpus"
HEADERS = ("variant", "batch", "passes", "per pass", "95 % CI", "sentences/s", "tokens/s")


def _rows(report: Report) -> list[tuple[str, CorpusPasses]]:
    return [(label, r.corpus) for label, r in report.variants.items() if r.corpus is not None]


def _explain(report: Report) -> str:
    wl = report.plan.get("workload") or {}
    texts = wl.get("corpus_texts")
    corpus = wl.get("corpus")
    name = "builtin" if corpus == "builtin" else str(corpus).rsplit("/", 1)[-1]
    size = f"{texts} texts" if isinstance(texts, int) else "its texts"
    return (
        f"corpus {name}, {size}; a pass runs every text once, batched (the last batch completed with the first "
        "texts), its time the sum of its calls; tokens/s counts real tokens only (no padding)"
    )


def _interval(lo_s: float, hi_s: float) -> str:
    """``2.03–2.34 s`` (the unit once when both bounds share it)."""
    lo, hi = fmt_ms(lo_s * 1e3), fmt_ms(hi_s * 1e3)
    lo_num, _, lo_unit = lo.partition(" ")
    return f"{lo_num}–{hi}" if lo_unit and hi.endswith(" " + lo_unit) else f"{lo}–{hi}"


def cells(label: str, c: CorpusPasses) -> tuple[str, ...]:
    """One row of the section as text cells (`HEADERS`' order)."""
    lo, hi = c.ci95
    return (
        label,
        str(c.batch),
        str(c.passes),
        fmt_ms(c.median_s * 1e3),
        _interval(lo, hi),
        fmt_rate(c.sentences_per_s),
        fmt_rate(c.tokens_per_s),
    )


def print_section(console: Any, report: Report) -> None:
    """Print the section (nothing when the run timed no whole-corpus pass)."""
    rows = _rows(report)
    if not rows:
        return
    console.print(f"[bold]{TITLE}[/bold] [dim]— {escape(_explain(report))}[/dim]")
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 0, 0, 1))
    for i, head in enumerate(HEADERS):
        if i == 0:
            table.add_column(head, no_wrap=True, min_width=max(len(label) for label, _c in rows))
        else:
            table.add_column(head, justify="right", no_wrap=True)
    for label, c in rows:
        table.add_row(*(escape(x) for x in cells(label, c)))
    console.print(table)
    methods = sorted({c.ci_method for _label, c in rows})
    console.print(f"  [dim]95 % CIs: {escape('; '.join(methods))}[/dim]")


def section_markdown(report: Report) -> str:
    """The section as Markdown (``""`` when the run timed no whole-corpus pass)."""
    rows = _rows(report)
    if not rows:
        return ""
    lines = [f"### {TITLE}", "", _explain(report), "", "| " + " | ".join(HEADERS) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|")
    for label, c in rows:
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells(label, c)) + " |")
    return "\n".join(lines) + "\n"
