"""The view model of a generating variant at an instant: TTFT and ITL histograms, a tokens/s timeline.

Built incrementally from `RunData.tokens` (live store or session file) by `GenAcc`, like the call latency's
histogram: log-spaced bucket counts (`buckets`), so a tick costs only the new requests. ITL is
counted per token (each step's gap once per batch row, as `analysis.generation`); the tokens/s timeline is the
decode rate while decoding in each 0.5 s block (batch × gaps ÷ their sum), so an interleaved run's other
backends' turns do not dilute it. At the end of a finished run the report's exact quantiles replace the
histogram ones. No Textual here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from infbench.analysis.generation import token_series
from infbench.tui.buckets import N_BUCKETS, bucket_of, hist_quantiles

_EMPTY = np.empty(0, np.float64)


@dataclass(frozen=True, eq=False)
class GenSnap:
    """A generating variant at an instant.

    Attributes:
        requests: requests (calls) with token stamps so far.
        batch: sequences per request.
        ttft_hist, itl_hist: bucket counts (`buckets.bucket_of`) of TTFT per request and ITL per token.
        ttft_q, itl_q: (median, p95, p99) in ms (NaN before any).
        tps_t: start (s since t0) of each 0.5 s block with decoding; tps: its decode tokens/s.
        decode_tps: decode tokens/s over every request so far (None before a second token).
        final: the quantiles are the report's exact ones (the run ended).
    """

    requests: int
    batch: int
    ttft_hist: np.ndarray
    ttft_q: tuple[float, float, float]
    itl_hist: np.ndarray
    itl_q: tuple[float, float, float]
    tps_t: np.ndarray
    tps: np.ndarray
    decode_tps: float | None
    final: bool = False


class GenAcc:
    """Per-variant accumulator of token stamps (see the module docstring)."""

    def __init__(self, batch: int, block_s: float) -> None:
        self.batch = max(1, int(batch))
        self.block_ns = int(block_s * 1e9)
        self.calls = 0  # requests consumed
        self.stamps = 0  # their stamps
        self.ttft_hist = np.zeros(N_BUCKETS, np.int64)
        self.itl_hist = np.zeros(N_BUCKETS, np.int64)
        self.blocks: dict[int, list[float]] = {}  # block → [gaps, their sum ns]
        self.decoded = 0  # gaps (steps after the first) so far
        self.decode_ns = 0
        self.version = 0
        self.view: tuple | None = None

    def add(
        self, start: np.ndarray, counts: np.ndarray, stamps: np.ndarray, upto: int | None, t0: int
    ) -> None:
        """Fold the requests after the ones already consumed (those starting before `upto`, None: all)."""
        new = slice(self.calls, None)
        s, c = start[new], counts[new]
        if upto is not None:
            keep = int(np.searchsorted(s, upto, side="left"))
            s, c = s[:keep], c[:keep]
        if s.size == 0:
            return
        flat = stamps[self.stamps : self.stamps + int(c.sum())]
        self.calls += int(s.size)
        self.stamps += int(flat.size)
        series = token_series(s, c, flat, self.batch)
        if series.requests == 0:
            return
        self.version += 1
        self.ttft_hist += np.bincount(bucket_of(series.ttft), minlength=N_BUCKETS)
        if series.gap.size:
            self.itl_hist += np.bincount(bucket_of(series.gap), minlength=N_BUCKETS) * self.batch
            self.decoded += int(series.gap.size)
            self.decode_ns += int(series.gap.sum())
            blk = (series.gap_start - t0) // self.block_ns
            n = np.bincount(blk - blk.min())
            total = np.bincount(blk - blk.min(), weights=series.gap.astype(np.float64))
            for i in np.flatnonzero(n):
                acc = self.blocks.setdefault(int(blk.min() + i), [0.0, 0.0])
                acc[0] += float(n[i])
                acc[1] += float(total[i])

    def snap(self, final: dict | None = None) -> GenSnap | None:
        """The view at the last `add` (None before any request); `final`: the report's exact figures."""
        if self.calls == 0 or not self.ttft_hist.any():
            return None
        if self.view is None or self.view[0] != self.version:
            idx = np.array(sorted(self.blocks), dtype=np.int64)
            vals = np.array([self.blocks[int(i)] for i in idx], dtype=np.float64).reshape(-1, 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                tps = np.where(vals[:, 1] > 0, self.batch * vals[:, 0] / (vals[:, 1] / 1e9), np.nan)
            self.view = (
                self.version,
                tuple(hist_quantiles(self.ttft_hist, (0.5, 0.95, 0.99))),
                tuple(hist_quantiles(self.itl_hist, (0.5, 0.95, 0.99))),
                self.ttft_hist.copy(),
                self.itl_hist.copy(),
                idx * (self.block_ns / 1e9) if idx.size else _EMPTY,
                tps if idx.size else _EMPTY,
            )
        _v, ttft_q, itl_q, ttft_hist, itl_hist, tps_t, tps = self.view
        decode = self.batch * self.decoded / (self.decode_ns / 1e9) if self.decode_ns > 0 else None
        if final:  # the report's exact values where it has them (it has no p95: the histogram's stays)
            ttft_q = _merge(final.get("ttft_q"), ttft_q)
            itl_q = _merge(final.get("itl_q"), itl_q)
            decode = final.get("decode_tps", decode)
        return GenSnap(
            requests=self.calls,
            batch=self.batch,
            ttft_hist=ttft_hist,
            ttft_q=ttft_q,
            itl_hist=itl_hist,
            itl_q=itl_q,
            tps_t=tps_t,
            tps=tps,
            decode_tps=decode,
            final=bool(final),
        )


def _merge(exact: tuple | None, approx: tuple) -> tuple[float, float, float]:
    if exact is None:
        return approx
    m, p95, p99 = (e if e is not None and math.isfinite(e) else a for e, a in zip(exact, approx))
    return float(m), float(p95), float(p99)


def final_generation(r: object) -> dict | None:
    """The report's exact generation figures of a `VariantResult` for `GenAcc.snap` (None when it has none):
    median and p99 (NaN for p95, which the report does not compute: the histogram's is kept)."""
    g = getattr(r, "generation", None)
    if g is None:
        return None
    nan = math.nan
    itl = (g.itl.median, nan, g.itl.p99) if g.itl is not None else (nan, nan, nan)
    return {"ttft_q": (g.ttft.median, nan, g.ttft.p99), "itl_q": itl, "decode_tps": g.decode_tokens_per_s}
