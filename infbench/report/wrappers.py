"""Report section "Wrapper overhead": each wrapper engine (Optimum) against the engine it wraps, as the ratio of
medians per call with its 95 % CI (`analysis.wrappers`), the direct engine's ``io`` named next to it."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from infbench.analysis.report_model import Report, fmt_times
from infbench.analysis.wrappers import WrapperOverhead
from infbench.metrics import fmt_ms
from infbench.report.style import styled
from infbench.vocab import Tone

TITLE = "Wrapper overhead"
EXPLAIN = "median per call, wrapper ÷ direct engine on the same model and inputs (> 1: the wrapper is slower)"


def _pair(w: WrapperOverhead) -> str:
    io = f" (io={w.io})" if w.io else ""
    return f"{w.wrapper} / {w.direct}{io}"


def _ratio(w: WrapperOverhead) -> str:
    lo, hi = w.ci95
    return f"{fmt_times(w.ratio)} [{lo:.2f}–{hi:.2f}]"


def _tail(w: WrapperOverhead) -> str:
    plo, phi = w.p99_ci95
    text = (
        f"median per call ({fmt_ms(w.wrapper_median_ms)} vs {fmt_ms(w.direct_median_ms)}); "
        f"p99 {fmt_times(w.p99_ratio)} [{plo:.2f}–{phi:.2f}]"
    )
    if not w.same_config:
        text += "; threads or precision differ between the two: read with care"
    return text


def _methods(report: Report) -> list[str]:
    return sorted({w.ci_method for w in report.wrapper_overhead if w.ci_method})


def _method_suffix(report: Report, w: WrapperOverhead) -> str:
    """The pair's CI method when the pairs' methods differ (else it is said once, under the lines)."""
    return f"; 95 % CI: {w.ci_method}" if len(_methods(report)) > 1 and w.ci_method else ""


def overhead_lines(report: Report) -> list[str]:
    """One plain line per wrapper: ``optimum-ort / onnxruntime (io=bound)  ×1.04 [1.01–1.07]  median per call…``."""
    return [
        f"{_pair(w)}  {_ratio(w)}  {_tail(w)}{_method_suffix(report, w)}" for w in report.wrapper_overhead
    ]


def _tone(w: WrapperOverhead) -> Tone:
    lo, hi = w.ci95
    if lo > 1.0:
        return Tone.BAD  # the wrapper is slower, beyond the interval
    if hi < 1.0:
        return Tone.GOOD
    return Tone.PLAIN


def print_section(console: Any, report: Report) -> None:
    """Print the section (nothing when no wrapper ran next to the engine it wraps)."""
    if not report.wrapper_overhead:
        return
    console.print(f"[bold]{TITLE}[/bold] [dim]— {escape(EXPLAIN)}[/dim]")
    for w in report.wrapper_overhead:
        tail = _tail(w) + _method_suffix(report, w)
        console.print(f"  {escape(_pair(w))}  {styled(_ratio(w), _tone(w))}  {escape(tail)}")
    methods = _methods(report)
    if len(methods) == 1:
        console.print(f"  [dim]95 % CIs: {escape(methods[0])}[/dim]")


def section_markdown(report: Report) -> str:
    """The section as Markdown (``""`` when no wrapper ran next to the engine it wraps)."""
    if not report.wrapper_overhead:
        return ""
    out = [f"### {TITLE}", "", f"{EXPLAIN}.", ""]
    out += [f"- {line}" for line in overhead_lines(report)]
    methods = _methods(report)
    if len(methods) == 1:
        out += ["", f"95 % CIs: {methods[0]}"]
    return "\n".join(out) + "\n"
