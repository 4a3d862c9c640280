"""Log-spaced latency buckets (~1 % wide) shared by the snapshot's histograms: bucket index, bucket middle,
quantiles of bucket counts. No Textual here."""

from __future__ import annotations

import math

import numpy as np

LOG_BASE = 1.01
MIN_NS = 10.0
N_BUCKETS = math.ceil(math.log(1e11 / MIN_NS) / math.log(LOG_BASE)) + 1


def bucket_of(dur_ns: np.ndarray) -> np.ndarray:
    """Histogram bucket index of each duration (ns)."""
    d = np.maximum(np.asarray(dur_ns, dtype=np.float64), MIN_NS)
    return np.minimum((np.log(d / MIN_NS) / math.log(LOG_BASE)).astype(np.int64), N_BUCKETS - 1)


def bucket_mid_ms(idx: np.ndarray | int) -> np.ndarray:
    """Geometric middle of bucket(s) `idx`, in ms."""
    return MIN_NS * LOG_BASE ** (np.asarray(idx, dtype=np.float64) + 0.5) / 1e6


def hist_quantiles(counts: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles (ms) of a bucket histogram; NaN when empty."""
    n = int(counts.sum())
    if n == 0:
        return [math.nan] * len(qs)
    cum = np.cumsum(counts)
    return [float(bucket_mid_ms(int(np.searchsorted(cum, max(1.0, q * n))))) for q in qs]
