"""`BackendTable`: every backend's key numbers, one row each: the overview of the compact layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from infbench.metrics import fmt_count, fmt_rate, metric
from infbench.tui.fmt import BAD, GOOD, MUTED, NOTE, WARN, status_style
from infbench.tui.snapshot import BackendSnap
from infbench.vocab import Status

SHORT_STATUS: dict[Status, str] = {
    Status.PENDING: "queued",
    Status.LOADING: "loading",
    Status.LOADED: "loaded",
    Status.WARMUP: "warm-up",
    Status.WAITING: "waiting",
    Status.RUNNING: "running",
    Status.DONE: "done",
    Status.STOPPED: "stopped",
    Status.FAILED: "CRASHED",
    Status.OK: "done",
    Status.DEGRADED: "done",
}
"""`vocab.Status.text` in at most 7 characters, for the table's status column (its style is the status's)."""
LATENCY_KEYS = ("median_ms", "p95_ms", "p99_ms")
HEADERS = (
    "backend",
    "status",
    *(metric(k).label for k in LATENCY_KEYS),
    metric("throughput_per_s").label,
    "n",
    "vs",
)


def _short_status(b: BackendSnap) -> str:
    """At most 7 characters: the state, or ``load 12s`` while loading."""
    if b.status == Status.LOADING and b.load_elapsed_s is not None and b.load_elapsed_s < 1000:
        return f"load {b.load_elapsed_s:.0f}s"
    try:
        return SHORT_STATUS[Status(b.status)]
    except ValueError:
        return b.status[:7]


def _vs(b: BackendSnap) -> tuple[str, str]:
    """The comparison cell, by the report's rule: ``ctrl`` for a control, ``A/A`` for a twin (the panel shows
    its ratio to its original), ``best`` for the fastest competitor, else its p50 ratio to the fastest."""
    if b.is_control:
        return "ctrl", MUTED
    if b.is_twin:
        return "A/A", NOTE
    if b.rel_to_fastest is None:
        return "—", MUTED
    if b.rel_to_fastest <= 1.0 + 1e-12:
        return "best", f"bold {GOOD}"
    return f"×{b.rel_to_fastest:.2f}", WARN if b.rel_to_fastest < 1.5 else BAD


class BackendTable(Widget, can_focus=True):
    """One row per backend: status, p50, p95, p99, calls/s, calls and speed against the fastest, columns sized
    to fit; the selected row is marked ``▶`` (and highlighted). ↑/↓ or a click selects a row, which posts
    `BackendTable.Selected`; the screen then shows that backend's panel, where its numbers and reason are whole.
    """

    DEFAULT_CSS = """
    BackendTable { height: auto; padding: 0 1; }
    BackendTable:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous backend", show=False),
        Binding("down", "move(1)", "Next backend", show=False),
    ]

    @dataclass
    class Selected(Message):
        """A row was selected."""

        label: str

    def __init__(self, labels: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = list(labels)
        self.selected: str | None = self.labels[0] if self.labels else None
        self._rows: dict[str, BackendSnap] = {}
        self._key: tuple = ()

    def show(self, backends: tuple[BackendSnap, ...]) -> None:
        """Set the rows (refreshes only when a cell changes)."""
        self._rows = {b.label: b for b in backends}
        key = tuple(self._cells(b) for b in backends)
        if key != self._key:
            self._key = key
            self.refresh(layout=len(key) != len(self.labels))

    def select(self, label: str) -> None:
        """Select `label`'s row (posts `Selected` when it changes)."""
        if label in self.labels and label != self.selected:
            self.selected = label
            self.refresh()
            self.post_message(self.Selected(label))

    def action_move(self, step: int) -> None:
        """Select the previous/next row."""
        if not self.labels:
            return
        i = self.labels.index(self.selected) if self.selected in self.labels else 0
        self.select(self.labels[min(max(i + int(step), 0), len(self.labels) - 1)])

    def on_click(self, event: events.Click) -> None:
        """A click on a row selects it."""
        offset = event.get_content_offset(self)
        row = offset.y - 1 if offset is not None else -1  # under the header
        if 0 <= row < len(self.labels):
            self.select(self.labels[row])

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """A header and a row per backend."""
        return 1 + len(self.labels)

    @staticmethod
    def _cells(b: BackendSnap) -> tuple[str, ...]:
        return (
            b.label,
            _short_status(b),
            metric("median_ms").format(b.p50_ms),
            metric("p95_ms").format(b.p95_ms),
            metric("p99_ms").format(b.p99_ms),
            fmt_rate(b.throughput).removesuffix("/s"),
            fmt_count(b.count),
            _vs(b)[0],
        )

    def render(self) -> Content:
        """The header and one row per backend, columns as wide as their widest cell (the name column takes
        what is left, cut with … when the terminal is too narrow for a long label)."""
        rows = [
            self._cells(self._rows[lb]) if lb in self._rows else (lb, "queued", *["—"] * 6)
            for lb in self.labels
        ]
        widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
        fixed = sum(widths[1:]) + len(widths) - 1 + 2  # separators and the "▶ " marker
        widths[0] = max(min(widths[0], self.size.width - fixed), 4)
        out: list[Content] = []
        head = "  " + " ".join(
            h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(HEADERS, widths))
        )
        out.append(Content.styled(head, f"bold {MUTED}"))
        for label, cells in zip(self.labels, rows):
            b = self._rows.get(label)
            name = cells[0] if len(cells[0]) <= widths[0] else cells[0][: widths[0] - 1] + "…"
            sel = label == self.selected
            parts: list[str | tuple[str, str]] = [
                ("▶ " if sel else "  ", "bold"),
                (name.ljust(widths[0]), "bold"),
            ]
            parts += [" ", (cells[1].ljust(widths[1]), status_style(b.status) if b else MUTED)]
            for i in range(2, len(cells)):
                style = _vs(b)[1] if b is not None and i == len(cells) - 1 else ("bold" if i == 2 else "")
                parts += [" ", (cells[i].rjust(widths[i]), style)]
            line = Content.assemble(*parts)
            out.append(line.stylize("reverse") if sel and self.has_focus else line)
        return Content("\n").join(out)

    def on_focus(self) -> None:
        """Highlight the selected row."""
        self.refresh()

    def on_blur(self) -> None:
        """Un-highlight the selected row (the ▶ marker stays)."""
        self.refresh()
