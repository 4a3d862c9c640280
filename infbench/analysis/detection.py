"""Slowdown detection for one backend, the same live and offline: blocks sized to the call rate, spike and step
detectors over them, and related alarms merged into episodes worth a user's attention.

`SlowdownTracker.feed` takes a backend's measured calls in time order (all at once for a report, or whatever
arrived since the last pass for the live view) and returns the findings that completed. It sizes blocks from the
first `SIZE_CALLS` calls (`calls_per_block`), computes the idle time between calls inside a turn, scores each
block's median, tail and in-turn time per call (`SpikeDetector`) and its level (`CusumDetector`), and keeps
every block so `episodes` can describe each slowdown by all its faces: median, p90, throughput and time lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from infbench.analysis.blocks import BlockStats, call_blocks, calls_per_block, empty_blocks, in_turn_gaps
from infbench.analysis.drift import CusumDetector
from infbench.analysis.spikes import TAIL_MIN_CALLS, SpikeDetector, default_metrics

SIZE_CALLS = 10  # calls used to size the blocks
MAX_CALLS_PER_PASS = 50_000  # beyond this, a systematic subsample (block statistics barely move)
MIN_SPIKE_RATIO = 1.10  # a transient slowdown smaller than this is not worth a finding
MIN_STEP_RATIO = 1.05  # nor a sustained one smaller than this (or than twice the measured A/A band)
MIN_LOST_MS = 250.0  # nor one that cost less time than this (a blip of a few calls on a busy machine)
MERGE_GAP_NS = 2_000_000_000  # alarms closer than this belong to one episode
BASELINE_BLOCKS = 50
SETTLE_NS = 1_000_000_000  # this long back at the baseline pace ends an episode


@dataclass(frozen=True)
class Finding:
    """One detector's alarm: ``spike`` (transient), ``step`` or ``drift`` (level change; ratio < 1 = recovery)."""

    kind: str
    t_start_ns: int
    t_end_ns: int
    ratio: float
    metric: str
    severity: float = 0.0


@dataclass(frozen=True)
class Episode:
    """A slowdown of one backend, merged from related alarms, described by all its faces.

    Attributes:
        backend: the backend label.
        kind: ``spike`` (it ended), ``step`` (it lasted to the end of the run) or ``drift`` (gradual).
        t_start_ns, t_end_ns: the slow window.
        ratio: the largest of the faces' slowdown ratios (what the headline "×r" says).
        metric: which face that is: ``median``, ``p90`` or ``throughput``.
        faces: ``median``/``p90``: window ÷ baseline; ``throughput``: baseline calls/s ÷ window calls/s
            (in-turn); ``before_ms``/``after_ms``: median call before and during.
        lost_ms: time lost to the slowdown inside the window (calls and in-turn gaps beyond the baseline pace).
        alarms: the detector alarms merged into it.
    """

    backend: str | None
    kind: str
    t_start_ns: int
    t_end_ns: int
    ratio: float
    metric: str
    faces: dict[str, float]
    lost_ms: float
    alarms: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    def headline(self) -> str:
        """``slowdown ×1.62 (median 150 → 243 ms, p90 ×1.7, calls/s ×0.61, 1.2 s lost)``."""
        f = self.faces
        parts = [f"median {f['before_ms']:.3g} → {f['after_ms']:.3g} ms"]
        if "p90" in f:
            parts.append(f"p90 ×{f['p90']:.2f}")
        parts.append(f"calls/s ×{1 / f['throughput']:.2f}" if f.get("throughput") else "")
        lost = f"{self.lost_ms / 1e3:.2g} s lost" if self.lost_ms >= 1000 else f"{self.lost_ms:.0f} ms lost"
        words = {"spike": "slowdown", "step": "sustained slowdown", "drift": "gradual slowdown"}
        return f"{words.get(self.kind, self.kind)} ×{self.ratio:.2f} ({', '.join(p for p in parts if p)}, {lost})"


@dataclass(frozen=True)
class DetectionStatus:
    """Whether detection is on for a backend, and if not, what it still needs."""

    calls: int
    calls_per_block: int | None
    block_ms: float | None
    blocks: int
    needs_blocks: int
    unit: str = "call"  # what the series counts: a call, or an inter-token gap (`itl_detection`)

    @property
    def active(self) -> bool:
        """Enough blocks seen for scoring."""
        return self.blocks >= self.needs_blocks

    def message(self) -> str:
        """One line for the report and the live events log."""
        units = f"{self.unit}s"
        if self.calls_per_block is None:
            return f"slowdown detection needs ≥ {max(SIZE_CALLS, self.needs_blocks)} measured {units}; have 0"
        need = max(self.needs_blocks * self.calls_per_block, SIZE_CALLS)
        if not self.active:
            return f"slowdown detection needs ≥ {need} measured {units}; have {self.calls}"
        k = self.calls_per_block
        return (
            f"slowdown detection on blocks of {k} {units if k > 1 else self.unit} (~{self.block_ms:.3g} ms)"
        )

    def to_dict(self) -> dict:
        """JSON-ready dict, with ``active`` and ``message``."""
        return {**asdict(self), "active": self.active, "message": self.message()}


class SlowdownTracker:
    """Blocks and detectors of one backend, fed incrementally (live) or once (offline) with the same result."""

    def __init__(self, backend: str | None = None, min_step_ratio: float = MIN_STEP_RATIO) -> None:
        """`min_step_ratio`: the smallest sustained change worth a finding (raise it to the A/A noise band)."""
        self.backend = backend
        self.min_step_ratio = min_step_ratio
        self.k: int | None = None
        self.spikes: SpikeDetector | None = None
        self.cusum: CusumDetector | None = None
        self._buf_s = np.empty(0, np.int64)
        self._buf_d = np.empty(0, np.int64)
        self._prev_end: int | None = None
        self._index = 0  # index of the first buffered call in the whole measured series
        self._blocks: list[BlockStats] = []
        self.calls = 0
        self._stride = 1

    def status(self) -> DetectionStatus:
        """What detection has seen so far."""
        blocks = sum(len(b) for b in self._blocks)
        need = self.spikes.min_history + 2 if self.spikes else 12
        ms = None
        if self._blocks and blocks:
            ms = float(np.median(np.concatenate([b.t1_ns - b.t0_ns for b in self._blocks]))) / 1e6
        k = self.k
        if k is None and self._buf_d.size:  # not sized yet: what the calls so far suggest
            k = calls_per_block(float(np.median(self._buf_d)))
        return DetectionStatus(self.calls, k, ms, blocks, need)

    def _size(self) -> None:
        self.k = calls_per_block(float(np.median(self._buf_d[:SIZE_CALLS])))
        block_ns = self.k * float(np.median(self._buf_d[:SIZE_CALLS]))
        self.spikes = SpikeDetector(backend=self.backend, metrics=default_metrics(self.k))
        calib = int(np.clip(round(5e9 / max(block_ns, 1.0)), 10, 50))
        self.cusum = CusumDetector(
            backend=self.backend,
            calib=calib,
            min_count=1,
            min_rel_change=self.min_step_ratio - 1.0,
            min_rel_sigma=0.02,
        )

    def feed(
        self, start_ns: np.ndarray, dur_ns: np.ndarray, turn_end_ns: np.ndarray | None, final: bool = False
    ) -> list[Finding]:
        """Add the next measured calls (time order); return the alarms completed by whole blocks among them."""
        s = np.concatenate([self._buf_s, np.asarray(start_ns, dtype=np.int64)])
        d = np.concatenate([self._buf_d, np.asarray(dur_ns, dtype=np.int64)])
        self.calls += int(np.size(start_ns))
        if self.k is None:
            if s.size < SIZE_CALLS and not (final and s.size):
                self._buf_s, self._buf_d = s, d
                return []
            self._buf_d = d
            self._size()
        k = int(self.k or 1)
        n_whole = ((self._index + s.size) // k) * k - self._index
        take = s.size if final else max(0, n_whole)
        self._buf_s, self._buf_d = s[take:], d[take:]
        if take == 0:
            return self._flush() if final else []
        s, d = s[:take], d[:take]
        gap = in_turn_gaps(
            s,
            d,
            turn_end_ns,
            self._prev_end,
            max_gap_ns=None if turn_end_ns is not None else max(50e6, 3 * float(np.median(d))),
        )
        idx = self._index + np.arange(take, dtype=np.int64)
        self._prev_end, self._index = int(s[-1] + d[-1]), self._index + take
        if take > MAX_CALLS_PER_PASS:
            stride = take // MAX_CALLS_PER_PASS + 1
            self._stride = max(self._stride, stride)
            s, d, gap, idx = s[::stride], d[::stride], gap[::stride], idx[::stride]
        spikes, cusum = self.spikes, self.cusum
        assert spikes is not None and cusum is not None, "the detectors are made with k, by _size"
        blocks = call_blocks(s, d, k, idx, gap)
        self._blocks.append(blocks)
        out = [
            Finding("spike", x.t_start_ns, x.t_end_ns, x.ratio, x.metric, x.severity)
            for x in spikes.update(blocks)
        ]
        out += [
            Finding(x.kind, x.t_ns, max(x.t_end_ns or x.t_ns, x.t_ns), x.ratio, "median")
            for x in cusum.update(blocks)
        ]
        return out + (self._flush() if final else [])

    def _flush(self) -> list[Finding]:
        if self.spikes is None:
            return []
        return [
            Finding("spike", x.t_start_ns, x.t_end_ns, x.ratio, x.metric, x.severity)
            for x in self.spikes.flush()
        ]

    def open_alarm(self) -> Finding | None:
        """The spike still in progress, as an alarm so far (live: a long slowdown is said while it lasts)."""
        x = self.spikes.active if self.spikes else None
        return (
            None if x is None else Finding("spike", x.t_start_ns, x.t_end_ns, x.ratio, x.metric, x.severity)
        )

    @property
    def busy(self) -> bool:
        """Whether a spike is open (findings close to it may still merge into one episode)."""
        return bool(self.spikes and self.spikes.active)

    def blocks(self) -> BlockStats:
        """Every block seen so far, in time order."""
        if not self._blocks:
            return empty_blocks()
        b = self._blocks
        cat = [
            np.concatenate([getattr(x, f) for x in b])
            for f in ("t0_ns", "count", "median_ns", "p90_ns", "max_ns", "mean_ns", "t1_ns", "cycle_ns")
        ]
        return BlockStats(int(np.median([x.block_ns for x in b])), *cat)

    def _extent(
        self, blocks: BlockStats, t0: int, t_alarm: int, base: np.ndarray, peak: float
    ) -> tuple[int, bool]:
        """(end of the slow stretch that starts at `t0`, whether it lasts to the end of the data).

        A block is slow while any face (median, tail, in-turn time per call) is above its baseline by half the
        alarm's `peak` ratio (and at least three baseline sigmas and the smallest sustained change), so noise
        does not drag the end along; the stretch ends before `SETTLE_NS` (at least 3 blocks)
        of blocks that are not slow. It never ends before the detectors' own alarms did.
        """
        slow = np.zeros(len(blocks), bool)
        for stat in ("median", "p90", "cycle"):
            ref = blocks.stat(stat)[base]
            level = float(np.median(ref))
            noise = 1.4826 * float(np.median(np.abs(ref - level))) / max(level, 1e-12)
            rise = max(MIN_STEP_RATIO - 1.0, 3.0 * noise, (peak - 1.0) / 2.0)
            slow |= blocks.stat(stat) >= level * (1.0 + rise)
        after = np.flatnonzero(blocks.t0_ns >= t0)
        if after.size == 0:
            return t_alarm, False
        span = max(float(np.median(blocks.t1_ns - blocks.t0_ns)), 1.0)
        settle = max(3, int(np.ceil(SETTLE_NS / span)))
        end, quiet = after[0], 0
        for i in after.tolist():
            if slow[i]:
                end, quiet = i, 0
            else:
                quiet += 1
                if quiet >= settle and blocks.t1_ns[i] > t_alarm:
                    return max(int(blocks.t1_ns[end]), t_alarm), False
        return max(int(blocks.t1_ns[-1]), t_alarm), True

    def episodes(self, findings: list[Finding]) -> list[Episode]:
        """Merge related alarms into episodes, describe each by its faces, keep those worth attention."""
        groups: list[list[Finding]] = []
        for f in sorted(findings, key=lambda x: x.t_start_ns):
            if groups and f.t_start_ns <= max(g.t_end_ns for g in groups[-1]) + MERGE_GAP_NS:
                groups[-1].append(f)
            else:
                groups.append([f])
        blocks = self.blocks()
        out: list[Episode] = []
        for g in groups:
            slow = [f for f in g if f.ratio > 1.0]
            if not slow:
                continue  # a recovery on its own: the end of something earlier
            if out and g[0].t_start_ns <= out[-1].t_end_ns + MERGE_GAP_NS:
                prev = out[-1]  # alarms inside an episode's slow stretch are that episode going on
                out[-1] = replace(prev, alarms=prev.alarms + [asdict(f) for f in g])
                continue
            ep = self._episode(g, slow, blocks, [(e.t_start_ns, e.t_end_ns) for e in out])
            if ep is not None:
                out.append(ep)
        return out

    def _episode(
        self, group: list[Finding], slow: list[Finding], blocks: BlockStats, earlier: list[tuple[int, int]]
    ) -> Episode | None:
        t0 = min(f.t_start_ns for f in slow)
        earlier_idx = np.flatnonzero(blocks.t0_ns < t0)
        before = [i for i in earlier_idx.tolist() if not any(a <= blocks.t0_ns[i] < b for a, b in earlier)]
        base = np.asarray(before[-BASELINE_BLOCKS:], dtype=np.int64)
        if base.size < 3:
            return None
        t1, sustained = self._extent(
            blocks, t0, max(f.t_end_ns for f in slow), base, max(f.ratio for f in slow)
        )
        win = (blocks.t0_ns >= t0) & (blocks.t0_ns < t1)
        if not win.any():
            return None

        def med(a):
            return float(np.median(a))

        faces = {
            "median": med(blocks.median_ns[win]) / med(blocks.median_ns[base]),
            "throughput": med(blocks.cycle_ns[win]) / med(blocks.cycle_ns[base]),
            "before_ms": med(blocks.median_ns[base]) / 1e6,
            "after_ms": med(blocks.median_ns[win]) / 1e6,
        }
        if int(np.median(blocks.count)) >= TAIL_MIN_CALLS:
            faces["p90"] = med(blocks.p90_ns[win]) / med(blocks.p90_ns[base])
        scored = {m: faces[m] for m in ("median", "p90", "throughput") if m in faces}
        metric = max(scored, key=lambda m: scored[m])
        ratio = scored[metric]
        kind = "spike"
        if sustained:
            level = [f for f in slow if f.kind in ("step", "drift")]
            kind = "drift" if level and all(f.kind == "drift" for f in level) else "step"
        if ratio < (self.min_step_ratio if kind != "spike" else MIN_SPIKE_RATIO):
            return None
        lost = float(np.sum((blocks.cycle_ns[win] - med(blocks.cycle_ns[base])) * blocks.count[win])) / 1e6
        lost *= self._stride  # blocks of a thinned series hold one call in `stride`
        if lost < MIN_LOST_MS:
            return None
        return Episode(
            self.backend,
            kind,
            t0,
            t1,
            ratio,
            metric,
            {m: round(v, 4) for m, v in faces.items()},
            max(0.0, lost),
            [asdict(f) for f in group],
        )
