"""Synthetic latency series with known answers, shared by the analysis tests."""

from __future__ import annotations

import numpy as np

from infbench.analysis.blocks import BlockStats, block_stats

BLOCK_NS = 100_000_000


def samples(
    n_blocks: int,
    seed: int,
    per_block: int = 100,
    noise: str = "lognormal",
    level: np.ndarray | None = None,
    base_ms: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(start_ns, dur_ns): `per_block` calls per 100 ms block; `level[k]` multiplies block k's latencies."""
    rng = np.random.default_rng(seed)
    n = n_blocks * per_block
    if noise == "lognormal":
        x = rng.lognormal(0.0, 0.3, n)
    else:
        x = rng.gamma(4.0, 0.25, n)
    lvl = np.ones(n_blocks) if level is None else np.asarray(level, dtype=float)
    dur = base_ms * 1e6 * x * np.repeat(lvl, per_block)
    k = np.repeat(np.arange(n_blocks), per_block)
    start = k * BLOCK_NS + np.tile(np.linspace(0, BLOCK_NS - 1, per_block).astype(np.int64), n_blocks)
    return start.astype(np.int64), dur.astype(np.int64)


def blocks(n_blocks: int, seed: int, **kw) -> BlockStats:
    """Block statistics of `samples`."""
    return block_stats(*samples(n_blocks, seed, **kw), block_ns=BLOCK_NS)


def plant_spikes(n_blocks: int, n_spikes: int, seed: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Level array with `n_spikes` slow bursts (1–5 blocks, ×1.3–2.0) well apart; returns (level, windows)."""
    rng = np.random.default_rng(seed + 1000)
    level = np.ones(n_blocks)
    slots = np.sort(rng.choice(np.arange(60, n_blocks - 10) // 40, n_spikes, replace=False)) * 40
    windows = []
    for s in slots:
        start = int(s + rng.integers(0, 20))
        length = int(rng.integers(1, 6))
        level[start : start + length] = rng.uniform(1.3, 2.0)
        windows.append((start, start + length))
    return level, windows


def match(
    detected: list[tuple[int, int]], planted: list[tuple[int, int]], tol: int = 1
) -> tuple[float, float]:
    """(recall, precision): a detection [a, b) matches a planted [s, e) when they overlap within ± tol blocks."""

    def hit(d, p):
        return d[0] < p[1] + tol and p[0] - tol < d[1]

    recall = sum(any(hit(d, p) for d in detected) for p in planted) / max(len(planted), 1)
    precision = sum(any(hit(d, p) for p in planted) for d in detected) / max(len(detected), 1)
    return recall, precision
