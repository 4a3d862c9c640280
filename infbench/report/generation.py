"""Report section "Generation" (``--task generate``): per variant time to first token and inter-token latency
(median and p99, each with its 95 % CI), decode and prefill tokens/s, time per output token, and greedy token
agreement with the reference (`analysis.generation`, `analysis.accuracy.token_agreement`).

Headings, units and number formats come from the metric registry (`infbench.metrics`), as in every table.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from infbench.analysis.generation import GenerationStats, QuantileStats
from infbench.analysis.report_model import Report, VariantResult
from infbench.metrics import MISSING, fmt_ms, metric

TITLE = "Generation"
# (heading metric, quantile stats attribute, quantile) of the columns with a CI
_QUANTILE_COLS = (
    ("ttft_median_ms", "ttft", "median"),
    ("ttft_p99_ms", "ttft", "p99"),
    ("itl_median_ms", "itl", "median"),
    ("itl_p99_ms", "itl", "p99"),
)
# token_agreement stays last (the reference shows "ref" there)
_RATE_COLS = ("decode_tokens_per_s", "prefill_tokens_per_s", "tpot_ms", "kv_rss_growth_mb", "token_agreement")
HEADERS = (
    "variant",
    *(metric(k).label for k, _s, _q in _QUANTILE_COLS),
    *(metric(k).label for k in _RATE_COLS),
)
_SPLIT = 1 + len(_QUANTILE_COLS)  # the terminal shows latencies and rates as two tables (80 columns)


def _rows(report: Report) -> list[tuple[str, VariantResult, GenerationStats]]:
    return [(label, r, r.generation) for label, r in report.variants.items() if r.generation is not None]


def interval(ci: tuple[float, float] | None, value_text: str = "") -> str:
    """``[4.01–4.22]`` when both bounds have the unit of `value_text` (said there), else ``[850 µs–1.02 ms]``;
    ``""`` when unknown."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    lo, hi = fmt_ms(ci[0]), fmt_ms(ci[1])
    unit = value_text.rpartition(" ")[2]
    if unit and lo.endswith(" " + unit) and hi.endswith(" " + unit):
        return f"[{lo[: -len(unit) - 1]}–{hi[: -len(unit) - 1]}]"
    return f"[{lo}–{hi}]"


def _quantile(q: QuantileStats | None, which: str) -> tuple[str, str]:
    if q is None:
        return MISSING, ""
    text = fmt_ms(q.median if which == "median" else q.p99)
    return text, interval(q.median_ci95 if which == "median" else q.p99_ci95, text)


def cells(label: str, r: VariantResult, g: GenerationStats, sep: str = "\n") -> tuple[str, ...]:
    """One row of the section (`HEADERS`' order): each quantile with its CI after `sep`."""
    out = [label]
    for _key, attr, which in _QUANTILE_COLS:
        value, ci = _quantile(getattr(g, attr), which)
        out.append(f"{value}{sep}{ci}" if ci else value)
    agree = r.value("token_agreement")
    if agree is None and r.parity is not None and r.parity.is_reference:
        out += [metric(k).format(r.value(k)) for k in _RATE_COLS[:-1]] + ["ref"]
    else:
        out += [metric(k).format(r.value(k)) for k in _RATE_COLS]
    return tuple(out)


def _explain(report: Report, rows: list[tuple[str, VariantResult, GenerationStats]]) -> str:
    g = rows[0][2]
    prompt = f"prompt {g.prompt_len} tokens, " if g.prompt_len else ""
    new = f"{g.new_tokens} new tokens" if g.new_tokens else "new tokens"
    return (
        f"{prompt}{new}, batch {g.batch}, greedy; stamps taken per decoding step in the engine process; ITL "
        "counts each step's gap once per sequence of the batch; [..] bootstrap 95 % CI"
    )


def print_section(console: Any, report: Report) -> None:
    """Print the section (nothing when no variant generated)."""
    rows = _rows(report)
    if not rows:
        return
    console.print(f"[bold]{TITLE}[/bold] [dim]— {escape(_explain(report, rows))}[/dim]")
    all_cells = [cells(label, r, g) for label, r, g in rows]
    for cols in (range(_SPLIT), [0, *range(_SPLIT, len(HEADERS))]):
        table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 0, 0, 1))
        for i in cols:
            if i == 0:
                table.add_column(
                    HEADERS[i], no_wrap=True, min_width=max(len(label) for label, _r, _g in rows)
                )
            else:
                table.add_column(HEADERS[i], justify="right", no_wrap=True)
        for row in all_cells:
            table.add_row(*(escape(row[i]) for i in cols))
        console.print(table)
    methods = sorted({q.ci_method for _l, _r, g in rows for q in (g.ttft, g.itl) if q is not None})
    console.print(f"  [dim]95 % CIs: {escape('; '.join(methods))}[/dim]")


def section_markdown(report: Report) -> str:
    """The section as Markdown (``""`` when no variant generated)."""
    rows = _rows(report)
    if not rows:
        return ""
    lines = [f"### {TITLE}", "", _explain(report, rows), "", "| " + " | ".join(HEADERS) + " |"]
    lines.append("|" + "---|" * len(HEADERS))
    for label, r, g in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(label, r, g, sep=" ")) + " |")
    return "\n".join(lines) + "\n"
