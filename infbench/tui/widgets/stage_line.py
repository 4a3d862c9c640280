"""The "where the time goes" line of a backend panel, for variants whose engine reports call parts (a
``pipeline``): ``tokenize 0.4 ms 12% · infer 2.8 ms 80% · post 0.3 ms 8%`` over the measured calls shown so far.

A `Snapshot` carries no per-call parts, so the line is computed from the `RunData` the screen's
`SnapshotBuilder` reads (``screen.builder.data``: the live store or the session reader), up to the snapshot's
instant — the same data and function (`analysis.stages.variant_stages`) the report uses, so live, replay and
report agree. It is recomputed only when the backend's measured count changes.
"""

from __future__ import annotations

import logging
from typing import Any

from textual.content import Content

from infbench.analysis.stages import variant_stages
from infbench.report.stages import stage_line
from infbench.tui.fmt import MUTED, pack
from infbench.tui.snapshot import BackendSnap, Snapshot

log = logging.getLogger(__name__)


class StageTracker:
    """The stage line of one panel's backend, cached by its measured count."""

    def __init__(self) -> None:
        self._key: tuple[str, int] | None = None
        self.text: str | None = None

    def update(self, screen: Any, b: BackendSnap, snap: Snapshot) -> None:
        """Recompute the line for `b` at `snap`'s instant when its measured count changed."""
        key = (b.label, b.count)
        if key == self._key:
            return
        self._key = key
        data = getattr(getattr(screen, "builder", None), "data", None)
        if data is None or b.count == 0 or not hasattr(data, "parts"):
            self.text = None
            return
        split = variant_stages(data, b.label, snap.t0_ns + int(round(snap.t_s * 1e9)) + 1)
        self.text = stage_line(split) if split is not None else None

    def lines(self, width: int) -> list[Content]:
        """``stages tokenize … · infer … · post …`` wrapped item by item to `width` (nothing without parts)."""
        if not self.text:
            return []
        items = self.text.split(" · ")
        parts = [Content.styled("stages", MUTED)] + [
            Content(item + (" ·" if k < len(items) - 1 else "")) for k, item in enumerate(items)
        ]
        return pack(parts, width, sep=" ")
