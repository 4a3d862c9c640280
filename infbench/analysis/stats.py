"""Latency statistics with bootstrap confidence intervals.

The CIs of the median and p99 resample the units that are independent (turns, or blocks of calls; see
`intervals`) unless the calls pass an independence check; then the exact bootstrap below is used. The
bootstrap distribution of a sample quantile is known exactly: the q-quantile of a resample of n values is
the order statistic x_(j) with probability P(rank = j), where P(rank <= j) = P(Binomial(n, j/n) >= m) and
m = ceil(n*q). Drawing ranks from that distribution gives the same draws as resampling the data B times, at a
cost independent of n — which keeps CIs cheap on 10-million-sample sessions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from infbench.analysis.intervals import Calls, quantile_cis

DEFAULT_BOOTSTRAP = 2000


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one backend's measured calls. Latencies in milliseconds.

    `median_ci95` and `p99_ci95` are bootstrap 95 % intervals, computed by `ci_method` (e.g. ``turn
    bootstrap (312 turns)``); throughput is calls per second of the backend's own busy time (so it is
    comparable across interleaved and sequential schedules).
    """

    count: int
    mean: float
    median: float
    p90: float
    p95: float
    p99: float
    p999: float
    min: float
    max: float
    std: float
    cv: float
    median_ci95: tuple[float, float]
    p99_ci95: tuple[float, float]
    throughput_per_s: float
    samples_per_s: float
    tokens_per_s: float | None
    ci_method: str = "exact bootstrap of independent calls"

    def to_dict(self) -> dict:
        """JSON-ready dict (CIs as two-element lists)."""
        d = asdict(self)
        d["median_ci95"] = list(self.median_ci95)
        d["p99_ci95"] = list(self.p99_ci95)
        return d

    def latency_dict(self) -> dict:
        """Just the latency fields, as in the `latency_ms` object of the headless JSON."""
        keys = ("mean", "median", "p90", "p95", "p99", "p999", "min", "max", "std", "cv")
        d = {k: getattr(self, k) for k in keys}
        d["median_ci95"] = list(self.median_ci95)
        d["p99_ci95"] = list(self.p99_ci95)
        d["ci_method"] = self.ci_method
        return d


def ci95(draws: np.ndarray) -> tuple[float, float]:
    """Percentile 95 % interval of bootstrap draws."""
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def summarize(
    dur_ns: np.ndarray,
    batch: int = 1,
    tokens: np.ndarray | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    turns: np.ndarray | None = None,
) -> LatencyStats:
    """Statistics of measured call durations (ns, in time order). `tokens` is tokens per call, if known.

    `turns` is the turn index of each call when known: the CIs then resample turns (see `intervals`).

    Raises:
        ValueError: when `dur_ns` is empty.
    """

    d = np.asarray(dur_ns, dtype=np.int64)
    if d.size == 0:
        raise ValueError("no measured samples")
    in_order = d.astype(np.float64) / 1e6
    ms = np.sort(in_order)
    rng = np.random.default_rng(seed)
    (med_ci, p99_ci), method = quantile_cis(Calls(in_order, turns), (0.5, 0.99), n_boot, rng, ms)
    mean = float(ms.mean())
    std = float(ms.std(ddof=1)) if ms.size > 1 else 0.0
    p = np.percentile(ms, [50, 90, 95, 99, 99.9])
    busy_s = float(ms.sum()) / 1e3
    calls_per_s = ms.size / busy_s if busy_s > 0 else float("inf")
    tok_per_s = None
    if tokens is not None and busy_s > 0:
        tok_per_s = float(np.asarray(tokens, dtype=np.float64).sum()) / busy_s
    return LatencyStats(
        count=int(ms.size),
        mean=mean,
        median=float(p[0]),
        p90=float(p[1]),
        p95=float(p[2]),
        p99=float(p[3]),
        p999=float(p[4]),
        min=float(ms[0]),
        max=float(ms[-1]),
        std=std,
        cv=std / mean if mean > 0 else 0.0,
        median_ci95=med_ci,
        p99_ci95=p99_ci,
        throughput_per_s=calls_per_s,
        samples_per_s=calls_per_s * batch,
        tokens_per_s=tok_per_s,
        ci_method=method,
    )
