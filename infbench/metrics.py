"""The metric registry and the number formatters: one name, unit, formatter and direction per metric.

Statistics (`analysis.stats`), the report renderers (table, Markdown, CSV, JSON), `compare` and the TUI look a
metric up here instead of spelling its name, unit and format themselves, so a new metric is one `register`
call (plus the code that computes it) and every output shows it the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

MISSING = "—"  # what every view prints for a value that is unknown or not applicable


def fmt_ms(ms: float | None) -> str:
    """A duration given in ms, with a unit that keeps 3–4 significant digits: 850 ns, 42.1 µs, 8.04 ms, 1.25 s.

    The one duration formatter of the project: tables, TUI, progress, compare and sweep all print with it.
    """
    if ms is None or not math.isfinite(ms):
        return MISSING
    if ms < 0.001:
        return f"{ms * 1e6:.0f} ns"
    if ms < 0.1:
        return f"{ms * 1000:.1f} µs"
    if ms < 1.0:
        return f"{ms * 1000:.0f} µs"
    if ms < 100:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s" if ms < 10_000 else f"{ms / 1000:.1f} s"


def fmt_seconds(s: float | None) -> str:
    """A wall-clock span: ``0.8 s``, ``42 s``, ``3 min 20 s``, ``1 h 05 min``."""
    if s is None or not math.isfinite(s):
        return MISSING
    if s < 10:
        return f"{s:.1f} s"
    if s < 90:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def fmt_rate(x: float | None) -> str:
    """A rate per second: 812/s, 12.3k/s, 1.20M/s."""
    if x is None or not math.isfinite(x):
        return MISSING
    if x >= 1e6:
        return f"{x / 1e6:.2f}M/s"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k/s"
    return f"{x:.0f}/s" if x >= 100 else f"{x:.1f}/s"


def fmt_mb(x: float | None) -> str:
    """Megabytes: 12.5 MB, 1,024 MB."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:,.0f} MB" if x >= 100 else f"{x:.1f} MB"


def fmt_pct(x: float | None) -> str:
    """A fraction as a percentage: 0.034 → 3.4%."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x * 100:.1f}%"


def fmt_count(n: int | None) -> str:
    """A count, compact: 94, 12,345, 123k, 1.23M."""
    if n is None:
        return MISSING
    if n < 100_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.0f}k"
    return f"{n / 1e6:.2f}M"


def fmt_plain(x: float | None) -> str:
    """A plain number with 3 significant digits."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:.3g}"


@dataclass(frozen=True)
class Metric:
    """One measured quantity.

    Attributes:
        key: the attribute / JSON / CSV name (``median_ms``).
        label: the short column heading (``median``).
        unit: the unit the value is stored in (``ms``, ``/s``, ``MB``, ``%``, ``""``).
        better: ``lower`` or ``higher`` when one direction is better (drives ★, verdicts and colours), else None.
        fmt: turns a stored value into text with its unit.
        help: one line for `--help`, the README and tooltips.
    """

    key: str
    label: str
    unit: str
    better: str | None
    fmt: Callable[[float | None], str]
    help: str

    def format(self, value: float | None) -> str:
        """The value as text with its unit (``—`` when unknown)."""
        return self.fmt(value)

    def improves(self, new: float, old: float) -> bool:
        """Whether `new` is better than `old` for this metric (False when neither direction is better)."""
        if self.better == "lower":
            return new < old
        if self.better == "higher":
            return new > old
        return False


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add `metric` to the registry (a key registered twice is an error: one definition per metric)."""
    if metric.key in METRICS:
        raise ValueError(f"metric {metric.key!r} is registered twice")
    METRICS[metric.key] = metric
    return metric


def metric(key: str) -> Metric:
    """The registered metric `key` (KeyError names the known keys)."""
    try:
        return METRICS[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r}: known are {', '.join(METRICS)}") from None


for _m in (
    Metric("mean_ms", "mean", "ms", "lower", fmt_ms, "mean latency per call"),
    Metric("median_ms", "median", "ms", "lower", fmt_ms, "median latency per call (p50)"),
    Metric("p90_ms", "p90", "ms", "lower", fmt_ms, "90th percentile latency"),
    Metric("p95_ms", "p95", "ms", "lower", fmt_ms, "95th percentile latency"),
    Metric("p99_ms", "p99", "ms", "lower", fmt_ms, "99th percentile latency"),
    Metric("p999_ms", "p99.9", "ms", "lower", fmt_ms, "99.9th percentile latency"),
    Metric("min_ms", "min", "ms", "lower", fmt_ms, "fastest call"),
    Metric("max_ms", "max", "ms", "lower", fmt_ms, "slowest call"),
    Metric("std_ms", "std", "ms", "lower", fmt_ms, "standard deviation of the call latency"),
    Metric("cv", "CV", "%", "lower", fmt_pct, "coefficient of variation (std / mean)"),
    Metric("throughput_per_s", "calls/s", "/s", "higher", fmt_rate, "calls per second of busy time"),
    Metric("samples_per_s", "samples/s", "/s", "higher", fmt_rate, "calls/s × batch"),
    Metric("tokens_per_s", "tokens/s", "/s", "higher", fmt_rate, "input tokens per second of busy time"),
    Metric("load_ms", "load", "ms", "lower", fmt_ms, "model load and compile time"),
    Metric("first_inference_ms", "1st call", "ms", "lower", fmt_ms, "first inference after loading"),
    Metric("rss_after_load_mb", "RSS load", "MB", "lower", fmt_mb, "engine process memory after loading"),
    Metric("rss_peak_mb", "RSS peak", "MB", "lower", fmt_mb, "engine process peak memory"),
    Metric("model_size_mb", "size", "MB", "lower", fmt_mb, "model size on disk"),
    Metric("parity_max_abs", "max |Δ|", "", "lower", fmt_plain, "largest output difference vs the reference"),
    Metric(
        "parity_cosine", "cosine", "", "higher", fmt_plain, "cosine similarity of outputs vs the reference"
    ),
    # generation (`--task generate`, `analysis.generation`): per-token figures from stamps taken in the child
    Metric("ttft_median_ms", "TTFT", "ms", "lower", fmt_ms, "median time to first token per request"),
    Metric("ttft_p90_ms", "TTFT p90", "ms", "lower", fmt_ms, "90th percentile time to first token"),
    Metric("ttft_p99_ms", "TTFT p99", "ms", "lower", fmt_ms, "99th percentile time to first token"),
    Metric("itl_median_ms", "ITL", "ms", "lower", fmt_ms, "median inter-token latency (per token)"),
    Metric("itl_p90_ms", "ITL p90", "ms", "lower", fmt_ms, "90th percentile inter-token latency"),
    Metric("itl_p99_ms", "ITL p99", "ms", "lower", fmt_ms, "99th percentile inter-token latency"),
    Metric("decode_tokens_per_s", "decode tok/s", "/s", "higher", fmt_rate, "tokens decoded per second"),
    Metric("prefill_tokens_per_s", "prefill tok/s", "/s", "higher", fmt_rate, "prompt tokens per s of TTFT"),
    Metric("tpot_ms", "TPOT", "ms", "lower", fmt_ms, "time per output token after the first (median)"),
    Metric(
        "kv_rss_growth_mb",
        "KV RSS +",
        "MB",
        "lower",
        fmt_mb,
        "engine RSS growth over one whole generation (peak − before; the KV cache and buffers), measured at load",
    ),
    Metric(
        "token_agreement",
        "same tokens",
        "%",
        "higher",
        fmt_pct,
        "greedy tokens equal to the reference's, position by position",
    ),
):
    register(_m)
