"""The histogram's range labels have a row of their own: no percentile marker ever covers a digit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infbench.tui.snapshot import N_BUCKETS, bucket_of, hist_quantiles
from infbench.tui.widgets.histogram import LatencyHistogram


def _cells(durations_ms: np.ndarray, width: int, height: int) -> tuple[list[str], LatencyHistogram]:
    hist = np.bincount(bucket_of(durations_ms * 1e6), minlength=N_BUCKETS)
    widget = LatencyHistogram()
    widget._hist, widget._quants = hist, tuple(hist_quantiles(hist, (0.5, 0.95, 0.99)))
    grid = widget._cells(width, height)
    assert isinstance(grid, tuple)
    return ["".join(row) for row in grid[0]], widget


@pytest.mark.parametrize("width", [12, 24, 36, 70])
def test_markers_and_range_labels_do_not_overlap(width: int) -> None:
    # most calls at the lowest latency, a tail far right: p50 sits in the first columns, p99 in the last
    ms = np.concatenate([np.full(900, 5.5), np.full(60, 6.0), np.full(40, 44.0)])
    rows, widget = _cells(ms, width, 6)
    marker, labels = rows[-2], rows[-1]
    assert len(rows) == 6 and all(len(r) == width for r in rows)
    assert marker.count("▲") >= 2 and set(marker) <= {"─", "▲"}
    assert math.isfinite(widget._quants[0]) and marker.index("▲") <= 1  # p50 at the left, under the low label
    left = " ".join(labels.split()[:2])
    assert left.endswith(("ms", "µs")) and "▲" not in left
    assert labels.startswith(left)  # the low end of the range, whole, from the first column
    if width >= 24:
        right = " ".join(labels.split()[-2:])
        assert labels.rstrip().endswith(right) and "▲" not in right  # the high end too
        assert float(right.split()[0]) >= 44.0 * 0.95 and float(left.split()[0]) <= 5.5 * 1.05
    if width >= 36:
        assert "▲median ▲p95 ▲p99" in labels  # the legend (metric labels) between them when it fits
