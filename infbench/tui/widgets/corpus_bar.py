"""The whole-corpus progress of one panel (``--whole-corpus N``): passes done and the current pass's fraction,
as a bar line under the statistics, live and in replay alike (computed from the snapshot's plan and the
variant's measured calls at the snapshot's time)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content

from infbench.analysis.corpus_time import pass_progress, passes_wanted
from infbench.tui.fmt import GOOD, INFO, MUTED
from infbench.tui.snapshot import BackendSnap, Snapshot

BAR_MIN, BAR_MAX = 6, 24


@dataclass(frozen=True)
class CorpusProgress:
    """Passes done of `wanted`, and how far the current pass is (0..1)."""

    done: int
    wanted: int
    fraction: float

    @property
    def complete(self) -> bool:
        """All the passes asked for are measured."""
        return self.done >= self.wanted


def corpus_progress(b: BackendSnap, snap: Snapshot) -> CorpusProgress | None:
    """`b`'s whole-corpus progress in `snap` (None when the run does not time whole passes, or `b` is a
    control)."""
    wanted = passes_wanted(snap.plan)
    if not wanted or b.is_control:
        return None
    options = next(
        (x.get("options") or {} for x in snap.plan.get("backends") or [] if x.get("label") == b.label), {}
    )
    got = pass_progress(snap.plan, options, b.count)
    if got is None:
        return None
    done, fraction = got
    return CorpusProgress(done, wanted, fraction)


def corpus_lines(p: CorpusProgress | None, width: int) -> list[Content]:
    """``corpus ▕████▌     ▏ pass 2/3 · 40 %`` fitted to `width` (nothing when `p` is None)."""
    if p is None:
        return []
    if p.complete:
        tail = (
            f" {p.done}/{p.wanted} passes ✓" if p.done == p.wanted else f" {p.done} passes (≥ {p.wanted}) ✓"
        )
        overall = 1.0
    else:
        tail = f" pass {p.done + 1}/{p.wanted} · {p.fraction * 100:.0f} %"
        overall = (p.done + p.fraction) / p.wanted
    head = "corpus "
    room = width - len(head) - len(tail) - 2
    if room < BAR_MIN:
        return [Content.assemble((head, MUTED), (tail.strip(), GOOD if p.complete else INFO))]
    n = min(room, BAR_MAX)
    eighths = round(overall * n * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part and full < n else "")
    bar = bar.ljust(n)
    return [
        Content.assemble(
            (head, MUTED), ("▕", MUTED), (bar, GOOD if p.complete else INFO), ("▏", MUTED), (tail, "")
        )
    ]
