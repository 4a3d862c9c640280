"""Results rendering shared by `run --headless` and `report`: a Rich table, Markdown and CSV of a typed `Report`.

Headings, units and number formats come from the metric registry (`infbench.metrics`), colours from the tones
of the shared vocabulary (`report.style`); values are read by attribute from `analysis.report_model`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape

from infbench.analysis.report_model import WINNER_METRICS, Report, VariantResult
from infbench.metrics import MISSING, fmt_ms, metric
from infbench.report.style import WIN, styled, verdict_markup
from infbench.vocab import Tone, Verdict

# CSV columns: metric-registry keys are metric values (`VariantResult.value`); the rest are named here.
_CSV_OTHER: dict[str, Callable[[str, VariantResult], Any]] = {
    "backend": lambda label, r: label,
    "status": lambda label, r: r.verdict.value,
    "error": lambda label, r: r.error,
    "iterations": lambda label, r: r.iterations,
    "warmup_iterations": lambda label, r: r.warmup_iterations,
    "median_ci95_lo": lambda label, r: r.latency.median_ci95[0] if r.latency else None,
    "median_ci95_hi": lambda label, r: r.latency.median_ci95[1] if r.latency else None,
    "p99_ci95_lo": lambda label, r: r.latency.p99_ci95[0] if r.latency else None,
    "p99_ci95_hi": lambda label, r: r.latency.p99_ci95[1] if r.latency else None,
    "parity_reference": lambda label, r: r.parity.reference if r.parity else None,
    "relative_median": lambda label, r: r.relative_to_fastest.median if r.relative_to_fastest else None,
    "relative_p99": lambda label, r: r.relative_to_fastest.p99 if r.relative_to_fastest else None,
    "ci_method": lambda label, r: r.latency.ci_method if r.latency else None,
    "precision": lambda label, r: r.precision,
    "accuracy_rule": lambda label, r: r.parity.rule if r.parity else None,
    "speedup_ci95_lo": lambda label, r: r.speedup.ci95[0] if r.speedup else None,
    "speedup_ci95_hi": lambda label, r: r.speedup.ci95[1] if r.speedup else None,
    "speedup_reference": lambda label, r: r.speedup.reference if r.speedup else None,
}
CSV_COLUMNS = (
    *("backend", "status", "error", "iterations", "warmup_iterations", "mean_ms", "median_ms"),
    *("median_ci95_lo", "median_ci95_hi", "p90_ms", "p95_ms", "p99_ms", "p99_ci95_lo", "p99_ci95_hi"),
    *("p999_ms", "min_ms", "max_ms", "std_ms", "cv", "throughput_per_s", "samples_per_s", "tokens_per_s"),
    *("load_ms", "first_inference_ms", "rss_after_load_mb", "rss_peak_mb", "model_size_mb"),
    *("parity_max_abs", "parity_cosine", "parity_reference", "relative_median", "relative_p99", "ci_method"),
    *("precision", "model_file_mb", "size_on_disk_mb", "parity_agreement", "accuracy_rule", "speedup_vs_f32"),
    *("speedup_ci95_lo", "speedup_ci95_hi", "speedup_reference"),
    # generation (--task generate); empty for a forward-pass run
    *("ttft_median_ms", "ttft_p99_ms", "itl_median_ms", "itl_p99_ms", "decode_tokens_per_s"),
    *("prefill_tokens_per_s", "tpot_ms", "token_agreement", "kv_rss_growth_mb"),
)


def _fmt(key: str, r: VariantResult) -> str:
    return metric(key).format(r.value(key))


def _head(*keys: str) -> str:
    return "\n".join(metric(k).label for k in keys)


def _rel(r: VariantResult, key: str) -> str:
    rel = getattr(r.relative_to_fastest, key, None)
    return "" if rel is None or abs(rel - 1.0) < 5e-4 else f" ×{rel:.2f}"


def _ci(ci: Any) -> str:
    """``\\n[8.01–8.09 ms]``: a CI on the line under its value, the shared unit said once."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    lo, hi = fmt_ms(ci[0]), fmt_ms(ci[1])
    unit = lo.rsplit(" ", 1)[-1]
    if hi.endswith(" " + unit):
        return f"\n[{lo[: -len(unit) - 1]}–{hi}]"
    return f"\n[{lo}–{hi}]"


def short_method(method: str | None) -> str:
    """A CI method in a few characters for a table cell: ``32 turns``, ``40 blocks``, ``iid calls``."""
    if not method:
        return ""
    if method.startswith("exact"):
        return "iid calls"
    inner = method[method.find("(") + 1 : method.rfind(")")] if "(" in method else method
    words = inner.split()
    return " ".join(words[:2]) if len(words) >= 2 else inner


def _parity(r: VariantResult) -> str:
    """max |Δ|, cosine and (when computed) label agreement vs the reference. Which one judged the variant
    (`Parity.rule`: max |Δ| at full precision, agreement for INT8/bf16…) is in the reason of a degraded one."""
    p = r.parity
    if p is None:
        return MISSING
    if p.rule == "tokens" and p.agreement is not None:
        return f"tokens {_agreement(p.agreement)}"  # generated tokens vs the reference's (greedy decoding)
    if p.reference is None or p.max_abs is None:
        return "ref" if p.is_reference else MISSING
    cos = f"{p.cosine:.5f}" if p.cosine is not None else MISSING
    text = f"{p.max_abs:.1e}\ncos {cos}"  # cosine to 5 places: 0.9991 and 0.99999 must read differently
    if p.agreement is not None:
        text += f"\nagree {_agreement(p.agreement)}"
    return text


def _agreement(fraction: float) -> str:
    """Label agreement in %, rounded down to 0.1: 100 % only when every label agrees (99.96 % reads 99.9 %)."""
    if fraction >= 1.0:
        return "100 %"
    return f"{math.floor(1000.0 * fraction + 1e-6) / 10:.1f} %"  # + 1e-6: 0.971 is 970.99… × 1000


def _precision(r: VariantResult) -> str:
    """What ran, over its size on disk: ``int8`` / ``4.5 MB``."""
    return f"{r.precision or MISSING}\n{_fmt('size_on_disk_mb', r)}"


def _speedup(r: VariantResult) -> str:
    """``×1.85 vs onnxruntime`` over ``[1.70–2.01]``: the fp32 variant's median ÷ this one's, its 95 % CI."""
    s = r.speedup
    if s is None:
        return MISSING
    return f"{_fmt('speedup_vs_f32', r)} vs {s.reference}\n[{s.ci95[0]:.2f}–{s.ci95[1]:.2f}]"


def _n(r: VariantResult) -> str:
    """Calls in the statistics; ``K of N`` when the session kept a sample of the calls made (the control)."""
    kept, made = r.iterations, r.calls_made
    text = f"{kept:,} of {made:,}" if made > kept else str(kept)
    return text + (f"\n{short_method(r.latency.ci_method)}" if r.latency else "")


PRECISION_HEAD = "precision\n" + metric("size_on_disk_mb").label
SPEEDUP_HEAD = metric("speedup_vs_f32").label + "\nvs f32"

# (heading, winner key or None, cell) — the results table's columns after ``backend``
_COLUMNS: list[tuple[str, str | None, Callable[[VariantResult], str]]] = [
    (_head("median_ms"), "median", lambda r: _fmt("median_ms", r) + _rel(r, "median") + _ci(_cis(r)[0])),
    (_head("p90_ms", "p95_ms"), None, lambda r: f"{_fmt('p90_ms', r)}\n{_fmt('p95_ms', r)}"),
    (_head("p99_ms"), "p99", lambda r: _fmt("p99_ms", r) + _rel(r, "p99") + _ci(_cis(r)[1])),
    (_head("p999_ms"), None, lambda r: _fmt("p999_ms", r)),
    (_head("mean_ms", "cv"), None, lambda r: f"{_fmt('mean_ms', r)}\n{_fmt('cv', r)}"),
    (_head("throughput_per_s"), "throughput", lambda r: _fmt("throughput_per_s", r)),
    (
        _head("load_ms", "first_inference_ms"),
        "cold_start",
        lambda r: f"{_fmt('load_ms', r)}\n{_fmt('first_inference_ms', r)}",
    ),
    (_head(WINNER_METRICS["rss"]), "rss", lambda r: _fmt(WINNER_METRICS["rss"], r)),
    (PRECISION_HEAD, None, _precision),
    (SPEEDUP_HEAD, None, _speedup),
    ("parity", None, _parity),
    ("n", None, _n),
]
_LATENCY_COLS = ("backend", *(h for h, _w, _c in _COLUMNS[:5]), "n")
# columns shown only when some variant has a value in them (a session without load details shows neither)
_OPTIONAL: dict[str, Callable[[VariantResult], bool]] = {
    PRECISION_HEAD: lambda r: r.precision is not None or r.size_on_disk_mb is not None,
    SPEEDUP_HEAD: lambda r: r.speedup is not None,
}


def _cis(r: VariantResult) -> tuple[Any, Any]:
    return (r.latency.median_ci95, r.latency.p99_ci95) if r.latency else (None, None)


def workload_title(report: Report) -> str:
    """The workload in a few words: ``batch 1,8,32 seq 128`` (every batch the variants ran), ``generate: prompt 32
    + 64 new tokens, batch 1``, ``corpus builtin``, ``padding fixed`` when not the default."""
    wl = report.plan.get("workload") or {}
    batches = sorted({int(v.options.get("batch", wl.get("batch", 1))) for v in report.variants.values()})
    batch = ",".join(str(b) for b in batches) if batches else str(wl.get("batch", "?"))
    if wl.get("task") == "generate":
        text = f"generate: prompt {wl.get('prompt_len', '?')} + {wl.get('new_tokens', '?')} new tokens, batch {batch}"
    else:
        text = f"batch {batch} seq {wl.get('seq', '?')}"
    if wl.get("corpus"):
        text += f" corpus {Path(str(wl['corpus'])).name}"
    if wl.get("padding") not in (None, "longest"):
        text += f" padding {wl['padding']}"
    return text


def result_rows(report: Report) -> list[dict[str, str]]:
    """One dict of formatted cells per variant (winner marks and relative-to-fastest included), plain text."""
    rows = []
    shown = [
        c
        for c in _COLUMNS
        if c[0] not in _OPTIONAL or any(_OPTIONAL[c[0]](r) for r in report.variants.values())
    ]
    for label, r in report.variants.items():
        row = {"backend": label}
        for heading, win, cell in shown:
            text = cell(r)
            row[heading] = f"{WIN} {text}" if win and report.winner(win) == label else text
        rows.append(row)
    return rows


def _table(
    title: str,
    rows: list[dict[str, str]],
    results: list[VariantResult],
    cols: list[str],
    caption: str | None,
    status: bool,
    no_wrap: bool = True,
) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, caption=escape(caption) if caption else None)
    for c in cols:
        table.add_column(
            c,
            justify="left" if c in ("backend", "parity", PRECISION_HEAD) else "right",
            no_wrap=no_wrap or c == "backend",
        )
    if status:
        table.add_column("status", no_wrap=True)
    for row, r in zip(rows, results):
        table.add_row(*[escape(row[c]) for c in cols], *([verdict_markup(r.verdict)] if status else []))
    return table


def print_results_table(console: Any, report: Report) -> None:
    """Print the run's results: a row per variant, winners marked ★, relative-to-fastest as ×r; then the
    reasons of every variant that is not ok, and the run's warnings.

    One table when the console is wide enough or is not a terminal; in a narrow terminal, latency and
    resources are split into two tables with the same rows.
    """
    from rich.measure import Measurement

    title = escape(str(report.plan.get("model", "?"))) + "  " + escape(workload_title(report))
    if report.outcome and report.outcome != "complete":
        title += escape(f"  [{report.outcome}]")
    caption = f"{WIN} winner · ×r relative to fastest · [..] bootstrap 95 % CI over the units under n"
    rows = result_rows(report)
    results = list(report.variants.values())
    cols = list(rows[0]) if rows else ["backend"]
    table = _table(title, rows, results, cols, caption, True)
    need = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if need <= console.width:
        console.print(table)
    elif not console.is_terminal and hasattr(console, "_width"):
        old = console._width  # not a terminal (file, pipe): print the one table at the width it needs
        try:
            console.width = need
            console.print(table)
        finally:
            console._width = old
    else:
        lat = [c for c in cols if c in _LATENCY_COLS]
        res = ["backend"] + [c for c in cols if c not in _LATENCY_COLS]
        console.print(_table(title, rows, results, lat, None, False, no_wrap=False))
        console.print(_table("", rows, results, res, caption, True, no_wrap=False))
    for label, r in report.variants.items():
        if r.verdict is not Verdict.OK and r.reason:
            console.print(f"  {verdict_markup(r.verdict)} {escape(label)}: {escape(r.reason)}")
    if any(r.tokens_per_s and r.tokens_per_s_approximate for r in results):
        console.print(
            styled("tokens/s approximate: batch × max seq with a sequence-length distribution", Tone.MUTED)
        )
    for warning in report.warnings:
        console.print(styled(f"⚠ {warning}", Tone.WARN), soft_wrap=True)
    for note in report.notes:
        console.print(styled(f"ⓘ {note}", Tone.NOTE), soft_wrap=True)


def results_markdown(report: Report) -> str:
    """The results table as GitHub Markdown, the run's warnings, then the events list."""
    rows = result_rows(report)
    if not rows:
        return "_no backends_\n"
    cols = list(rows[0]) + ["status"]
    lines = ["| " + " | ".join(c.replace("\n", " / ") for c in cols) + " |", "|" + "---|" * len(cols)]
    for row, r in zip(rows, report.variants.values()):
        cells = [row[c].replace("\n", " / " if "\n" in c else " ") for c in cols[:-1]] + [
            r.verdict.value + (f": {r.reason}" if r.reason else "")
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if report.warnings:
        lines += [""] + [f"> ⚠ {w}" for w in report.warnings]
    if report.notes:
        lines += [""] + [f"> ⓘ {n}" for n in report.notes]
    if report.events:
        lines += ["", "### Events", ""]
        lines += [
            f"- {e.t_s:.3f} s `{e.kind}`" + (f" ({e.backend})" if e.backend else "") + f": {e.message}"
            for e in report.events
        ]
    return "\n".join(lines) + "\n"


def results_csv(report: Report) -> str:
    """One CSV row per variant with every numeric result (latencies in ms, as the registry's units)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for label, r in report.variants.items():
        vals = [_CSV_OTHER[c](label, r) if c in _CSV_OTHER else r.value(c) for c in CSV_COLUMNS]
        w.writerow(["" if v is None else v for v in vals])
    return buf.getvalue()
