"""Generation metrics from per-token stamps: time to first token, inter-token latency, tokens/s, per variant.

A generating engine stamps every decoding step of a call inside its child with the run's clock
(`RunData.tokens`: per call its start, its step count, and one stamp per step). Per request (call):

- TTFT = first stamp − call start (the prefill, plus the first step);
- ITL = the gaps between consecutive stamps. A step decodes one token for every batch row, so each gap counts
  once per row: a request gives batch × (steps − 1) ITL samples (`itl_samples`);
- decode tokens/s = batch × (steps − 1) / (last stamp − first stamp), over all requests (ratio of sums);
- prefill tokens/s = batch × prompt_len / TTFT (at the median TTFT);
- time per output token (TPOT) = (last − first stamp) / (steps − 1), the median over requests.

The CIs of TTFT and ITL quantiles resample the same units as the call latency (`intervals.quantile_cis`): a
request's TTFT and every gap of a request belong to the turn of that request, so turns (rounds) are resampled,
else blocks of consecutive values. Point estimates are over the per-token samples; the CIs over the per-step
gaps (a gap repeated per batch row is one observation, not `batch`).

Pure functions over arrays plus one reader of `RunData` (`generation_stats`); no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from infbench.analysis.intervals import Calls, quantile_cis
from infbench.analysis.stats import DEFAULT_BOOTSTRAP
from infbench.analysis.turns import calls_of
from infbench.records import PHASE_MEASURE

TASK_GENERATE = "generate"
QUANTILES = (0.5, 0.9, 0.99)
# the registered metrics (`infbench.metrics`) a `GenerationStats` has a value for
GENERATION_KEYS = (
    "ttft_median_ms",
    "ttft_p90_ms",
    "ttft_p99_ms",
    "itl_median_ms",
    "itl_p90_ms",
    "itl_p99_ms",
    "decode_tokens_per_s",
    "prefill_tokens_per_s",
    "tpot_ms",
)


@dataclass(frozen=True)
class TokenSeries:
    """The per-request timing of one variant's generating calls (ns, in call order).

    Attributes:
        call_start: start of each request (call) with at least one stamp.
        steps: decoding steps (stamps) of each request.
        ttft: first stamp − call start, per request.
        gap_start: the stamp a gap starts at (the previous token), one per step after the first.
        gap: the inter-token gaps, one per step after the first (not yet repeated per batch row).
        gap_call: index (into `call_start`) of the request each gap belongs to.
        decode: last − first stamp, per request (0 with one step).
        batch: rows per request: each step decodes `batch` tokens.
    """

    call_start: np.ndarray
    steps: np.ndarray
    ttft: np.ndarray
    gap_start: np.ndarray
    gap: np.ndarray
    gap_call: np.ndarray
    decode: np.ndarray
    batch: int

    @property
    def requests(self) -> int:
        """Number of requests with a token."""
        return int(self.call_start.size)

    def request_ends(self) -> np.ndarray:
        """The last stamp of each request (ns)."""
        return self.call_start + self.ttft + self.decode


def token_series(call_start: Any, token_counts: Any, stamps: Any, batch: int = 1) -> TokenSeries:
    """The per-request timing from `RunData.tokens` output: (call start per call, steps per call, flat stamps).

    Calls without a stamp (an engine that emitted no token) are left out.

    Raises:
        ValueError: when the counts do not add up to the stamps.
    """
    start = np.asarray(call_start, dtype=np.int64).ravel()
    counts = np.asarray(token_counts, dtype=np.int64).ravel()
    flat = np.asarray(stamps, dtype=np.int64).ravel()
    if start.size != counts.size or int(counts.sum()) != flat.size or (counts < 0).any():
        raise ValueError(
            f"token stamps do not match their calls: {start.size} calls, {counts.size} counts summing to "
            f"{int(counts.sum())}, {flat.size} stamps"
        )
    first_idx = np.cumsum(counts) - counts
    keep = counts > 0
    first = flat[first_idx[keep]]
    last = flat[(first_idx + counts - 1)[keep]]
    gaps = np.diff(flat) if flat.size else np.empty(0, np.int64)
    call_of_stamp = np.repeat(np.arange(counts.size), counts)
    same = call_of_stamp[1:] == call_of_stamp[:-1] if flat.size > 1 else np.zeros(0, bool)
    kept_index = np.cumsum(keep) - 1  # call index → index among kept calls
    return TokenSeries(
        call_start=start[keep],
        steps=counts[keep],
        ttft=first - start[keep],
        gap_start=flat[:-1][same] if flat.size > 1 else np.empty(0, np.int64),
        gap=gaps[same],
        gap_call=kept_index[call_of_stamp[1:][same]] if flat.size > 1 else np.empty(0, np.int64),
        decode=last - first,
        batch=max(1, int(batch)),
    )


def itl_samples(series: TokenSeries) -> np.ndarray:
    """Inter-token latencies per token (ns): each step's gap once per batch row, so a request of `s` steps
    gives batch × (s − 1) samples."""
    return np.repeat(series.gap, series.batch)


@dataclass(frozen=True)
class QuantileStats:
    """Median, p90, p99 of a series in ms, the 95 % CIs of median and p99, and how they were resampled."""

    count: int
    median: float
    p90: float
    p99: float
    median_ci95: tuple[float, float]
    p99_ci95: tuple[float, float]
    ci_method: str

    def to_json_dict(self) -> dict[str, Any]:
        """``{"count", "median", "p90", "p99", "median_ci95", "p99_ci95", "ci_method"}`` (ms)."""
        return {
            "count": self.count,
            "median": self.median,
            "p90": self.p90,
            "p99": self.p99,
            "median_ci95": list(self.median_ci95),
            "p99_ci95": list(self.p99_ci95),
            "ci_method": self.ci_method,
        }


def quantile_stats(
    per_token_ns: np.ndarray,
    units_ns: np.ndarray,
    units_turn: np.ndarray | None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> QuantileStats:
    """Quantiles of `per_token_ns` (ms) with CIs from the observations `units_ns` (time order) and their turn
    indices `units_turn` (None: blocks of consecutive values are resampled when they are not independent)."""
    ms = np.sort(np.asarray(per_token_ns, dtype=np.float64) / 1e6)
    obs = np.asarray(units_ns, dtype=np.float64) / 1e6
    rng = np.random.default_rng(seed)
    (med_ci, p99_ci), method = quantile_cis(Calls(obs, units_turn), (0.5, 0.99), n_boot, rng)
    p = np.percentile(ms, [50, 90, 99])
    return QuantileStats(int(ms.size), float(p[0]), float(p[1]), float(p[2]), med_ci, p99_ci, method)


@dataclass(frozen=True)
class GenerationStats:
    """A generating variant's per-token figures (see the module docstring).

    Attributes:
        requests: measured requests (calls) with stamps.
        batch, prompt_len, new_tokens: the workload (prompt_len/new_tokens None when the plan does not say).
        steps_median: median decoding steps per request (new_tokens unless generation stopped early).
        ttft: time to first token (ms), one value per request.
        itl: inter-token latency (ms), batch × (steps − 1) values per request.
        decode_tokens_per_s: tokens decoded per second after the first (all rows of the batch).
        prefill_tokens_per_s: prompt tokens per second of the median TTFT (batch × prompt_len / TTFT).
        tpot_ms: time per output token, median over requests of (last − first stamp) / (steps − 1).
        e2e_median_ms: the median request, end to end (the call latency).
    """

    requests: int
    batch: int
    prompt_len: int | None
    new_tokens: int | None
    steps_median: float
    ttft: QuantileStats
    itl: QuantileStats | None
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    tpot_ms: float | None
    e2e_median_ms: float | None = None

    def value(self, key: str) -> float | None:
        """The value of registered metric `key` (one of `GENERATION_KEYS`)."""
        series, _, stat = key.partition("_")
        if series in ("ttft", "itl") and stat.endswith("_ms"):
            q = self.ttft if series == "ttft" else self.itl
            return None if q is None else float(getattr(q, stat[:-3]))
        if key in ("decode_tokens_per_s", "prefill_tokens_per_s", "tpot_ms"):
            return getattr(self, key)
        raise KeyError(f"not a generation metric: {key!r}")

    def to_json_dict(self) -> dict[str, Any]:
        """The ``generation`` object of a backend in the JSON report."""
        return {
            "requests": self.requests,
            "batch": self.batch,
            "prompt_len": self.prompt_len,
            "new_tokens": self.new_tokens,
            "steps_median": self.steps_median,
            "ttft_ms": self.ttft.to_json_dict(),
            "itl_ms": self.itl.to_json_dict() if self.itl is not None else None,
            "decode_tokens_per_s": self.decode_tokens_per_s,
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "tpot_ms": self.tpot_ms,
            "e2e_median_ms": self.e2e_median_ms,
        }


def _opt_int(value: Any) -> int | None:
    try:
        out = int(value)
    except (TypeError, ValueError):
        return None
    return out if out > 0 else None


def summarize_tokens(
    series: TokenSeries,
    turn: np.ndarray | None = None,
    prompt_len: int | None = None,
    new_tokens: int | None = None,
    e2e_median_ms: float | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
) -> GenerationStats | None:
    """The generation statistics of one variant's requests; `turn` is each request's turn index (aligned with
    `series.call_start`) when known. None without any request."""
    if series.requests == 0:
        return None
    ttft = quantile_stats(series.ttft, series.ttft, turn, n_boot)
    itl = None
    if series.gap.size:
        gap_turn = None if turn is None else turn[series.gap_call]
        itl = quantile_stats(itl_samples(series), series.gap, gap_turn, n_boot)
    multi = series.steps > 1
    decode_ns = float(series.decode[multi].sum())
    decoded = float(series.batch * (series.steps[multi] - 1).sum())
    decode_tps = decoded / (decode_ns / 1e9) if decode_ns > 0 else None
    tpot = float(np.median(series.decode[multi] / (series.steps[multi] - 1))) / 1e6 if multi.any() else None
    med_ttft_s = float(np.median(series.ttft)) / 1e9
    prefill_tps = series.batch * prompt_len / med_ttft_s if prompt_len and med_ttft_s > 0 else None
    return GenerationStats(
        requests=series.requests,
        batch=series.batch,
        prompt_len=prompt_len,
        new_tokens=new_tokens,
        steps_median=float(np.median(series.steps)),
        ttft=ttft,
        itl=itl,
        decode_tokens_per_s=decode_tps,
        prefill_tokens_per_s=prefill_tps,
        tpot_ms=tpot,
        e2e_median_ms=e2e_median_ms,
    )


def is_generate(plan: Mapping[str, Any] | None) -> bool:
    """Whether the plan's workload is a generation task (``--task generate``)."""
    return str(((plan or {}).get("workload") or {}).get("task") or "") == TASK_GENERATE


def read_tokens(
    data: Any, label: str, phase: str = PHASE_MEASURE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`data.tokens(label, phase)`, or three empty arrays for data that has no token stamps."""
    tokens = getattr(data, "tokens", None)
    empty = np.empty(0, np.int64)
    if not callable(tokens):
        return empty, empty, empty
    start, counts, stamps = tokens(label, phase)
    return np.asarray(start, np.int64), np.asarray(counts, np.int64), np.asarray(stamps, np.int64)


def variant_series(data: Any, label: str, batch: int, phase: str = PHASE_MEASURE) -> TokenSeries | None:
    """The token series of one variant of `data` (None when it has no stamps)."""
    start, counts, stamps = read_tokens(data, label, phase)
    if not counts.size or not int(counts.sum()):
        return None
    return token_series(start, counts, stamps, batch)


def request_turns(data: Any, label: str, call_start: np.ndarray) -> np.ndarray | None:
    """The turn index of each request (by its start), from the same turns the call latency resamples."""
    calls, _source = calls_of(data, label, PHASE_MEASURE)
    if calls.turn is None or calls.turn.size == 0:
        return None
    start, _dur = data.samples(label, phase=PHASE_MEASURE)
    idx = np.clip(np.searchsorted(start, call_start, side="left"), 0, start.size - 1)
    return np.asarray(calls.turn, np.int64)[idx]


def generation_stats(
    data: Any, label: str, batch: int, e2e_median_ms: float | None = None, n_boot: int = DEFAULT_BOOTSTRAP
) -> GenerationStats | None:
    """The generation statistics of variant `label` of a `RunData` (None for a variant without token stamps:
    every prefill run, an engine that does not generate, older sessions)."""
    if not is_generate(data.plan):
        return None
    series = variant_series(data, label, batch)
    if series is None:
        return None
    wl = (data.plan or {}).get("workload") or {}
    return summarize_tokens(
        series,
        request_turns(data, label, series.call_start),
        prompt_len=_opt_int(wl.get("prompt_len")),
        new_tokens=_opt_int(wl.get("new_tokens")),
        e2e_median_ms=e2e_median_ms,
        n_boot=n_boot,
    )


def with_generation(data: Any, results: Mapping[str, Any], n_boot: int = DEFAULT_BOOTSTRAP) -> dict[str, Any]:
    """`results` (label → `report_model.VariantResult`) with ``generation`` filled for every variant that
    generated (at its own batch: a variant's ``batch`` option, else the plan's); the others unchanged."""
    from dataclasses import replace

    if not is_generate(data.plan):
        return dict(results)
    plan_batch = _opt_int(((data.plan or {}).get("workload") or {}).get("batch")) or 1
    out = dict(results)
    for label, r in results.items():
        batch = _opt_int(r.options.get("batch")) or plan_batch
        e2e = r.latency.median if r.latency is not None else None
        stats = generation_stats(data, label, batch, e2e, n_boot)
        if stats is not None:
            out[label] = replace(r, generation=stats)
    return out


def generation_calls(data: Any, label: str) -> tuple[Calls, Calls] | None:
    """(TTFT per request, inter-token gap per step), each in ns with the turn index of its request, for
    comparing sessions (`compare.compare_generation`); None when `label` has no token stamps in `data`."""
    if not is_generate(data.plan):
        return None
    series = variant_series(data, label, 1)
    if series is None or series.gap.size == 0:
        return None
    turn = request_turns(data, label, series.call_start)
    gap_turn = None if turn is None else turn[series.gap_call]
    return Calls(series.ttft.astype(np.float64), turn), Calls(series.gap.astype(np.float64), gap_turn)
