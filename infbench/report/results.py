"""Results rendering shared by `run --headless` and `report`: a Rich table, Markdown and CSV of a report dict.

A report is what `infbench.analysis.summary.build_report` returns.
"""

from __future__ import annotations

import csv
import io
from typing import Any

WIN = "★"
# failed (and anything unknown) is red; stopped by the user and not started are partial, not errors
STATUS_COLOURS = {"ok": "green", "degraded": "yellow", "stopped": "yellow", "not started": "yellow"}
CSV_COLUMNS = (
    "backend",
    "status",
    "error",
    "iterations",
    "warmup_iterations",
    "mean_ms",
    "median_ms",
    "median_ci95_lo",
    "median_ci95_hi",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p99_ci95_lo",
    "p99_ci95_hi",
    "p999_ms",
    "min_ms",
    "max_ms",
    "std_ms",
    "cv",
    "throughput_per_s",
    "samples_per_s",
    "tokens_per_s",
    "load_ms",
    "first_inference_ms",
    "rss_after_load_mb",
    "rss_peak_mb",
    "model_size_mb",
    "parity_max_abs",
    "parity_cosine",
    "parity_reference",
    "relative_median",
    "relative_p99",
    "ci_method",
)


def fmt_ms(ms: float | None) -> str:
    """A latency in ms, with a unit that keeps 3–4 significant digits (ns, µs, ms, s)."""
    if ms is None:
        return "–"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.2f} ms"
    if ms >= 0.001:
        return f"{ms * 1000:.1f} µs"
    return f"{ms * 1e6:.0f} ns"


def _num(v: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if v is None else fmt.format(v)


def _rate(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.1f}"


def _rel(r: dict[str, Any], key: str) -> str:
    rel = (r.get("relative_to_fastest") or {}).get(key)
    return "" if rel is None or abs(rel - 1.0) < 5e-4 else f" ×{rel:.2f}"


def _ci(ci: Any) -> str:
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


def _parity(p: dict[str, Any] | None) -> str:
    if not p:
        return "–"
    if p.get("reference") is None or p.get("max_abs") is None:
        return "ref" if p.get("is_reference") else "–"
    return f"{p['max_abs']:.1e}\ncos {p.get('cosine', float('nan')):.5f}"


def _reason(r: dict[str, Any]) -> str:
    return str(r.get("error") or "; ".join(r.get("degraded_reasons") or []))


def _status(r: dict[str, Any]) -> str:
    from rich.markup import escape

    s = escape(str(r.get("status", "?")))
    colour = STATUS_COLOURS.get(s, "red")
    return f"[{colour}]{s}[/{colour}]"


def result_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One dict of formatted cells per backend (winner marks and relative-to-fastest included), plain text."""
    wins = report.get("winners") or {}
    rows = []
    for label, r in (report.get("backends") or {}).items():
        lat = r.get("latency_ms") or {}

        def mark(metric: str, text: str, label: str = label) -> str:
            return f"{WIN} {text}" if wins.get(metric) == label else text

        cs, mem = r.get("cold_start") or {}, r.get("memory_mb") or {}
        rows.append(
            {
                "backend": label,
                "median": mark(
                    "median", fmt_ms(lat.get("median")) + _rel(r, "median") + _ci(lat.get("median_ci95"))
                ),
                "p90\np95": f"{fmt_ms(lat.get('p90'))}\n{fmt_ms(lat.get('p95'))}",
                "p99": mark("p99", fmt_ms(lat.get("p99")) + _rel(r, "p99") + _ci(lat.get("p99_ci95"))),
                "p99.9": fmt_ms(lat.get("p999")),
                "mean\nCV": f"{fmt_ms(lat.get('mean'))}\n" + (_num(lat.get("cv"), "{:.1%}") if lat else "–"),
                "calls/s": mark("throughput", _rate(r.get("throughput_per_s"))),
                "load\n1st call": mark(
                    "cold_start", f"{fmt_ms(cs.get('load_ms'))}\n{fmt_ms(cs.get('first_inference_ms'))}"
                ),
                "RSS MB": mark("rss", _num(mem.get("rss_peak") or mem.get("rss_after_load"), "{:.0f}")),
                "parity": _parity(r.get("parity")),
                "n": _n(r) + (f"\n{short_method(lat.get('ci_method'))}" if lat else ""),
            }
        )
    return rows


_LATENCY_COLS = ("backend", "median", "p90\np95", "p99", "p99.9", "mean\nCV", "n")


def _table(
    title: str,
    rows: list[dict[str, str]],
    reports: list[dict[str, Any]],
    cols: list[str],
    caption: str | None,
    status: bool,
    no_wrap: bool = True,
) -> Any:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, caption=escape(caption) if caption else None)
    for c in cols:
        table.add_column(
            c, justify="left" if c in ("backend", "parity") else "right", no_wrap=no_wrap or c == "backend"
        )
    if status:
        table.add_column("status", no_wrap=True)
    for row, r in zip(rows, reports):
        table.add_row(*[escape(row[c]) for c in cols], *([_status(r)] if status else []))
    return table


def print_results_table(console: Any, report: dict[str, Any]) -> None:
    """Print the run's results: a row per backend, winners marked ★, relative-to-fastest as ×r.

    One table when the console is wide enough or is not a terminal; in a narrow terminal, latency and
    resources are split into two tables with the same rows.
    """
    from rich.markup import escape
    from rich.measure import Measurement

    plan = report.get("plan") or {}
    wl = plan.get("workload") or {}
    title = escape(str(plan.get("model", "?"))) + f"  batch {wl.get('batch', '?')} seq {wl.get('seq', '?')}"
    if report.get("outcome") and report.get("outcome") != "complete":
        title += escape(f"  [{report['outcome']}]")
    caption = f"{WIN} winner · ×r relative to fastest · [..] bootstrap 95 % CI over the units under n"
    rows = result_rows(report)
    reports = list((report.get("backends") or {}).values())
    cols = list(rows[0]) if rows else ["backend"]
    table = _table(title, rows, reports, cols, caption, True)
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
        console.print(_table(title, rows, reports, lat, None, False, no_wrap=False))
        console.print(_table("", rows, reports, res, caption, True, no_wrap=False))
    for row, r in zip(rows, reports):
        if r.get("status") != "ok" and _reason(r):
            console.print(f"  {_status(r)} {escape(row['backend'])}: {escape(_reason(r))}")
    tps = [r for r in reports if r.get("tokens_per_s")]
    if tps and any(r.get("tokens_per_s_approximate") for r in tps):
        console.print("[dim]tokens/s approximate: batch × max seq with a sequence-length distribution[/dim]")


def results_markdown(report: dict[str, Any]) -> str:
    """The results table as GitHub Markdown, followed by the events list."""
    rows = result_rows(report)
    backends = list((report.get("backends") or {}).values())
    if not rows:
        return "_no backends_\n"
    cols = list(rows[0]) + ["status"]
    lines = ["| " + " | ".join(c.replace("\n", " / ") for c in cols) + " |", "|" + "---|" * len(cols)]
    for row, r in zip(rows, backends):
        status = r.get("status", "?")
        reason = _reason(r)
        cells = [row[c].replace("\n", " / " if "\n" in c else " ") for c in cols[:-1]] + [
            status + (f": {reason}" if reason else "")
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    events = report.get("events") or []
    if events:
        lines += ["", "### Events", ""]
        lines += [
            f"- {e['t_s']:.3f} s `{e['kind']}`"
            + (f" ({e['backend']})" if e.get("backend") else "")
            + f": {e['message']}"
            for e in events
        ]
    return "\n".join(lines) + "\n"


def results_csv(report: dict[str, Any]) -> str:
    """One CSV row per backend with every numeric result (latencies in ms)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for label, r in (report.get("backends") or {}).items():
        lat = r.get("latency_ms") or {}
        cs, mem = r.get("cold_start") or {}, r.get("memory_mb") or {}
        par, rel = r.get("parity") or {}, r.get("relative_to_fastest") or {}
        mci, pci = lat.get("median_ci95") or (None, None), lat.get("p99_ci95") or (None, None)
        vals = [
            label,
            r.get("status"),
            r.get("error"),
            r.get("iterations"),
            r.get("warmup_iterations"),
            lat.get("mean"),
            lat.get("median"),
            mci[0],
            mci[1],
            lat.get("p90"),
            lat.get("p95"),
            lat.get("p99"),
            pci[0],
            pci[1],
            lat.get("p999"),
            lat.get("min"),
            lat.get("max"),
            lat.get("std"),
            lat.get("cv"),
            r.get("throughput_per_s"),
            r.get("samples_per_s"),
            r.get("tokens_per_s"),
            cs.get("load_ms"),
            cs.get("first_inference_ms"),
            mem.get("rss_after_load"),
            mem.get("rss_peak"),
            r.get("model_size_mb"),
            par.get("max_abs"),
            par.get("cosine"),
            par.get("reference"),
            rel.get("median"),
            rel.get("p99"),
            lat.get("ci_method"),
        ]
        w.writerow(["" if v is None else v for v in vals])
    return buf.getvalue()


def _n(r: dict[str, Any]) -> str:
    """Calls in the statistics; ``K of N`` when the session kept a sample of the calls made (null control)."""
    kept, made = int(r.get("iterations", 0)), int(r.get("calls_made") or 0)
    return f"{kept:,} of {made:,}" if made > kept else str(kept)
