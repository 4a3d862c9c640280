"""The typed report: what `analysis.summary.build_report` returns and every renderer reads by attribute.

    Report ─┬─ variants: label → VariantResult ─┬─ latency: stats.LatencyStats (None before a measured call)
            │                                   ├─ cold_start: ColdStart, memory: Memory, parity: Parity | None
            │                                   └─ relative_to_fastest: Relative | None
            ├─ winners: winner key → label (WINNER_METRICS)
            ├─ analysis: SessionAnalysis ─┬─ findings: label → Findings (episodes, burst vs sustained, …)
            │                             └─ comparison: FairComparison (rows: label → compare.Comparison, aa)
            └─ events: ReportEvent…, warnings: str…

`Report.to_json_dict()` is the one producer of the JSON (`report --format json`, `run --headless --json`).
JSON schema 2 (this module) vs the untyped dict of schema 1: adds ``schema_version`` and ``warnings`` at the
top and ``roles`` / ``twin_of`` per backend; every key of schema 1 is kept with its meaning. Later additions
(no key changed): per backend ``precision``, ``details`` (what the engine reported it ran), ``model_file_mb``,
``size_on_disk_mb``, ``speedup`` (vs the fp32 variant of the same engine) and ``parity.agreement`` /
``parity.rule``; at the top ``notes`` (e.g. a precision the engine would have used by default) and
``wrapper_overhead`` (`analysis.wrappers`: each wrapper engine vs the engine it wraps); per backend
``whole_corpus`` (`analysis.corpus_time`: time per corpus pass with ``--whole-corpus``, else null).
Per backend ``generation`` (`analysis.generation`: TTFT, ITL, tokens/s of a ``--task generate`` variant, else
null; ``parity.rule`` ``tokens`` for its greedy token agreement) and per findings ``series`` (``calls``, or
``itl`` when detection ran on a generating variant's inter-token latency).

A value is looked up by its metric-registry key (`infbench.metrics`) with `VariantResult.value(key)`, so the
table, Markdown, CSV and winners name a metric once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infbench.analysis.compare import Comparison
from infbench.analysis.corpus_time import CorpusPasses, corpus_getters
from infbench.analysis.detection import DetectionStatus
from infbench.analysis.generation import GENERATION_KEYS, GenerationStats
from infbench.analysis.stages import StageSplit
from infbench.analysis.stats import LatencyStats
from infbench.analysis.wrappers import WrapperOverhead
from infbench.metrics import METRICS, MISSING, Metric, fmt_mb, fmt_ms, fmt_pct, metric, register
from infbench.vocab import EventKind, Role, Verdict

SCHEMA_VERSION = 2


# Metrics only the report computes (from other metrics): the cold start (load + first call) and the memory a
# winner is judged by (peak RSS, or RSS after load when no peak was read).
def fmt_times(x: float | None) -> str:
    """A ratio as a factor: ×1.85 (``—`` when unknown)."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"×{x:.2f}"


for _m in (
    Metric("cold_start_ms", "cold start", "ms", "lower", fmt_ms, "load + first inference"),
    Metric("rss_mb", "RSS", "MB", "lower", fmt_mb, "engine peak memory (after load when no peak was read)"),
    Metric(
        "parity_agreement",
        "agree",
        "%",
        "higher",
        fmt_pct,
        "label agreement with the reference: arg-max of the first output over its last axis, every position",
    ),
    Metric(
        "model_file_mb",
        "file",
        "MB",
        "lower",
        fmt_mb,
        "size on disk of the model file the engine loaded (a quantized copy for INT8), as it reported",
    ),
    Metric(
        "size_on_disk_mb",
        "size",
        "MB",
        "lower",
        fmt_mb,
        "size on disk of what the variant loaded: its engine's model file, else the model's",
    ),
    Metric(
        "speedup_vs_f32",
        "speed-up",
        "×",
        "higher",
        fmt_times,
        "median of the fp32 variant of the same engine ÷ this variant's median",
    ),
):
    if _m.key not in METRICS:
        register(_m)

# winner key (the JSON's ``winners`` object) → the metric it is judged by
WINNER_METRICS: dict[str, str] = {
    "median": "median_ms",
    "p99": "p99_ms",
    "throughput": "throughput_per_s",
    "cold_start": "cold_start_ms",
    "rss": "rss_mb",
    "ttft": "ttft_median_ms",  # generating variants only (no value otherwise: no winner)
    "itl_p99": "itl_p99_ms",
    "decode": "decode_tokens_per_s",
}


@dataclass(frozen=True)
class ColdStart:
    """Model load and first inference, ms (None when not reached)."""

    load_ms: float | None = None
    first_inference_ms: float | None = None

    @property
    def total_ms(self) -> float | None:
        """Load + first call (None when neither is known)."""
        if self.load_ms is None and self.first_inference_ms is None:
            return None
        return (self.load_ms or 0.0) + (self.first_inference_ms or 0.0)

    def to_json_dict(self) -> dict[str, Any]:
        """``{"load_ms", "first_inference_ms"}``."""
        return {"load_ms": self.load_ms, "first_inference_ms": self.first_inference_ms}


@dataclass(frozen=True)
class Memory:
    """Engine process memory, MB."""

    rss_after_load_mb: float | None = None
    rss_peak_mb: float | None = None

    @property
    def rss_mb(self) -> float | None:
        """Peak RSS, or RSS after load when no peak was read."""
        return self.rss_peak_mb or self.rss_after_load_mb

    def to_json_dict(self) -> dict[str, Any]:
        """``{"rss_after_load", "rss_peak"}`` (the schema-1 names)."""
        return {"rss_after_load": self.rss_after_load_mb, "rss_peak": self.rss_peak_mb}


@dataclass(frozen=True)
class Parity:
    """Output accuracy against the reference variant (`analysis.accuracy`): `max_abs`/`cosine` None when it
    could not be compared, `agreement` (0–1) None when not computed (no label axis, older sessions), `rule`
    ``tolerance`` or ``agreement`` (which one judged the variant; None in older sessions)."""

    reference: str | None = None
    max_abs: float | None = None
    cosine: float | None = None
    is_reference: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys of a newer writer, kept for the JSON
    agreement: float | None = None
    rule: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Parity | None:
        """From `BackendInfo.parity` (None stays None)."""
        if not d:
            return None
        known = ("reference", "max_abs", "cosine", "is_reference", "agreement", "rule")
        agreement = d.get("agreement")
        return cls(
            d.get("reference"),
            d.get("max_abs"),
            d.get("cosine"),
            bool(d.get("is_reference")),
            {k: v for k, v in d.items() if k not in known},
            float(agreement)
            if isinstance(agreement, (int, float)) and not isinstance(agreement, bool)
            else None,
            None if d.get("rule") is None else str(d.get("rule")),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The dict the session stores."""
        out = {**self.extra, "max_abs": self.max_abs, "cosine": self.cosine, "reference": self.reference}
        out["agreement"] = self.agreement
        if self.rule is not None:
            out["rule"] = self.rule
        if self.is_reference:
            out["is_reference"] = True
        return out


@dataclass(frozen=True)
class Relative:
    """Median and p99 ÷ the fastest competing variant's."""

    median: float
    p99: float

    def to_json_dict(self) -> dict[str, float]:
        """``{"median", "p99"}``."""
        return {"median": self.median, "p99": self.p99}


@dataclass(frozen=True)
class Speedup:
    """A variant that changes the numerics (INT8, bf16…) vs the fp32 variant of the same engine: the ratio of
    medians `reference` ÷ this variant (> 1: faster) with its 95 % CI (`compare.compare_latencies`)."""

    reference: str
    ratio: float
    ci95: tuple[float, float]
    ci_method: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        """``{"reference", "ratio", "ci95", "ci_method"}``."""
        return {
            "reference": self.reference,
            "ratio": self.ratio,
            "ci95": list(self.ci95),
            "ci_method": self.ci_method,
        }


@dataclass(frozen=True)
class VariantResult:
    """One variant's result over its measured calls (see the module docstring for the tree)."""

    label: str
    backend: str
    verdict: Verdict
    error: str | None = None
    roles: tuple[str, ...] = ()
    twin_of: str | None = None
    degraded_reasons: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    providers: tuple[str, ...] = ()
    latency: LatencyStats | None = None
    throughput_per_s: float | None = None
    samples_per_s: float | None = None
    tokens_per_s: float | None = None
    tokens_per_s_approximate: bool = False
    cold_start: ColdStart = ColdStart()
    memory: Memory = Memory()
    model_size_mb: float | None = None
    parity: Parity | None = None
    iterations: int = 0
    calls_made: int = 0  # > iterations when the session kept a sample of the calls (the control is thinned)
    warmup_iterations: int = 0
    relative_to_fastest: Relative | None = None
    precision: str | None = None  # what ran (`accuracy.precision_text`): f32, bf16, int8, f32 int8-weights
    details: Mapping[str, Any] = field(default_factory=dict)  # what the engine reported it ran (load details)
    model_file_mb: float | None = None  # size of the model file the engine loaded, as it reported
    speedup: Speedup | None = None  # vs the fp32 variant of the same engine (variants that change numerics)
    generation: GenerationStats | None = (
        None  # TTFT, ITL, tokens/s of a generating variant (`--task generate`)
    )
    corpus: CorpusPasses | None = None  # whole-corpus passes (`--whole-corpus`, `analysis.corpus_time`)
    stages: StageSplit | None = (
        None  # where the time of a call goes (engines with call parts, `analysis.stages`)
    )

    @property
    def size_on_disk_mb(self) -> float | None:
        """Size on disk of what the variant loaded: the engine's model file (a quantized copy), else the
        model's."""
        return self.model_file_mb if self.model_file_mb is not None else self.model_size_mb

    @property
    def is_control(self) -> bool:
        """A harness control: shown, never fastest, never a winner."""
        return Role.CONTROL in self.roles

    @property
    def is_twin(self) -> bool:
        """The A/A twin of another variant (`twin_of`): it sets the noise band, it does not compete."""
        return Role.AA_TWIN in self.roles or self.twin_of is not None

    @property
    def competes(self) -> bool:
        """Measured (its verdict competes), not a control, not an A/A twin: can be fastest or a winner."""
        return self.verdict.competes and not self.is_control and not self.is_twin

    @property
    def reason(self) -> str:
        """Why its verdict is not ok: the error, else the degraded reasons ('' when none)."""
        return self.error or "; ".join(self.degraded_reasons)

    def value(self, key: str) -> float | None:
        """The value of registered metric `key` (None when unknown or not measured)."""
        get = _VALUES.get(key)
        if get is None:
            metric(key)  # KeyError naming the known keys for an unregistered key
            raise KeyError(f"metric {key!r} is not a per-variant value")
        return get(self)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``backends[label]`` object of the JSON."""
        return {
            "backend": self.backend,
            "status": self.verdict.value,
            "error": self.error,
            "roles": list(self.roles),
            "twin_of": self.twin_of,
            "degraded_reasons": list(self.degraded_reasons),
            "latency_ms": self.latency.latency_dict() if self.latency is not None else None,
            "throughput_per_s": self.throughput_per_s,
            "samples_per_s": self.samples_per_s,
            "tokens_per_s": self.tokens_per_s,
            "tokens_per_s_approximate": self.tokens_per_s_approximate,
            "cold_start": self.cold_start.to_json_dict(),
            "memory_mb": self.memory.to_json_dict(),
            "model_size_mb": self.model_size_mb,
            "parity": self.parity.to_json_dict() if self.parity is not None else None,
            "providers": list(self.providers),
            "options": dict(self.options),
            "iterations": self.iterations,
            "calls_made": self.calls_made,
            "warmup_iterations": self.warmup_iterations,
            "relative_to_fastest": (
                self.relative_to_fastest.to_json_dict() if self.relative_to_fastest is not None else None
            ),
            "precision": self.precision,
            "details": dict(self.details),
            "model_file_mb": self.model_file_mb,
            "size_on_disk_mb": self.size_on_disk_mb,
            "speedup": self.speedup.to_json_dict() if self.speedup is not None else None,
            "generation": self.generation.to_json_dict() if self.generation is not None else None,
            "whole_corpus": self.corpus.to_json_dict() if self.corpus is not None else None,
            "stages": self.stages.to_json_dict() if self.stages is not None else None,
        }


def _lat(name: str) -> Callable[[VariantResult], float | None]:
    return lambda r: None if r.latency is None else float(getattr(r.latency, name))


def _number(value: Any) -> float | None:
    """A number an engine reported in its load details, else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _gen(key: str) -> Callable[[VariantResult], float | None]:
    return lambda r: None if r.generation is None else r.generation.value(key)


_VALUES: dict[str, Callable[[VariantResult], float | None]] = {
    **{f"{k}_ms": _lat(k) for k in ("mean", "median", "p90", "p95", "p99", "p999", "min", "max", "std")},
    "cv": _lat("cv"),
    "throughput_per_s": lambda r: r.throughput_per_s,
    "samples_per_s": lambda r: r.samples_per_s,
    "tokens_per_s": lambda r: r.tokens_per_s,
    "load_ms": lambda r: r.cold_start.load_ms,
    "first_inference_ms": lambda r: r.cold_start.first_inference_ms,
    "cold_start_ms": lambda r: r.cold_start.total_ms,
    "rss_after_load_mb": lambda r: r.memory.rss_after_load_mb,
    "rss_peak_mb": lambda r: r.memory.rss_peak_mb,
    "rss_mb": lambda r: r.memory.rss_mb,
    "model_size_mb": lambda r: r.model_size_mb,
    "parity_max_abs": lambda r: None if r.parity is None else r.parity.max_abs,
    "parity_cosine": lambda r: None if r.parity is None else r.parity.cosine,
    "parity_agreement": lambda r: None if r.parity is None else r.parity.agreement,
    "model_file_mb": lambda r: r.model_file_mb,
    "size_on_disk_mb": lambda r: r.size_on_disk_mb,
    "speedup_vs_f32": lambda r: None if r.speedup is None else r.speedup.ratio,
    "kv_rss_growth_mb": lambda r: _number(r.details.get("kv_rss_growth_mb")),
    **{k: _gen(k) for k in GENERATION_KEYS},
    **corpus_getters(),
    "token_agreement": lambda r: (
        r.parity.agreement if r.parity is not None and r.parity.rule == "tokens" else None
    ),
}


@dataclass(frozen=True)
class EpisodeFinding:
    """A slowdown episode as the report carries it: times in seconds since t=0, its headline, its cause."""

    kind: str  # spike | step | drift
    t_s: float | None
    t_end_s: float | None
    ratio: float
    lost_ms: float
    headline: str
    attribution: Mapping[str, Any] | None = None  # `attribution.Attribution.to_dict()` (top episodes only)
    fields: Mapping[str, Any] = field(default_factory=dict)  # `detection.Episode.to_dict()`

    def to_json_dict(self) -> dict[str, Any]:
        """The episode's own fields plus ``t_s``, ``t_end_s``, ``headline`` (and ``attribution``)."""
        out = {**self.fields, "t_s": self.t_s, "t_end_s": self.t_end_s, "headline": self.headline}
        if self.attribution is not None:
            out["attribution"] = dict(self.attribution)
        return out


@dataclass(frozen=True)
class BurstVsSustained:
    """Median latency of the first `burst_s` seconds vs the rest, and when a sustained slowdown set in."""

    burst_s: float
    burst_median_ns: float | None
    sustained_median_ns: float | None
    ratio: float | None
    sustained_slowdown: bool
    slowdown_start_ns: int | None
    slowdown_start_s: float | None

    def to_json_dict(self) -> dict[str, Any]:
        """All fields (``slowdown_start_s`` only when known, as schema 1)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if self.slowdown_start_s is None:
            del out["slowdown_start_s"]
        return out


@dataclass(frozen=True)
class Findings:
    """What the analysis found in one variant's session: warm-up end, slowdowns, stability warnings."""

    warmup_end_s: float | None = None
    spikes: tuple[EpisodeFinding, ...] = ()  # transient slowdowns
    shifts: tuple[EpisodeFinding, ...] = ()  # sustained ones (step, drift)
    burst_vs_sustained: BurstVsSustained | None = None
    warnings: tuple[str, ...] = ()
    detection: DetectionStatus | None = None  # None when detection did not run (no calls, or a control)
    series: str = "calls"  # what detection ran on: ``calls``, or ``itl`` (a generating variant's token gaps)

    def episodes_by_cost(self) -> list[EpisodeFinding]:
        """Spikes and shifts, the most time lost first."""
        return sorted(self.spikes + self.shifts, key=lambda e: -(e.lost_ms or 0.0))

    def to_json_dict(self) -> dict[str, Any]:
        """The ``analysis.backends[label]`` object."""
        return {
            "warmup_end_s": self.warmup_end_s,
            "spikes": [e.to_json_dict() for e in self.spikes],
            "shifts": [e.to_json_dict() for e in self.shifts],
            "burst_vs_sustained": (
                self.burst_vs_sustained.to_json_dict() if self.burst_vs_sustained is not None else None
            ),
            "warnings": list(self.warnings),
            "detection": self.detection.to_dict() if self.detection is not None else None,
            "series": self.series,
        }


@dataclass(frozen=True)
class AAPair:
    """An A/A pair (`run --aa`): the twin `b` compared with its original `a`, and the noise band it gives."""

    a: str
    b: str
    noise_band: float
    comparison: Comparison  # B/A, with the between-process spread

    def to_json_dict(self) -> dict[str, Any]:
        """``a``, ``b``, ``noise_band`` and the comparison's ratios, CIs, p-value and CI method."""
        c = self.comparison
        return {
            "a": self.a,
            "b": self.b,
            "noise_band": self.noise_band,
            "median_ratio": c.median_ratio,
            "median_ratio_ci95": list(c.median_ratio_ci95),
            "p99_ratio": c.p99_ratio,
            "p99_ratio_ci95": list(c.p99_ratio_ci95),
            "p_value": c.p_value,
            "ci_method": c.ci_method,
        }


@dataclass(frozen=True)
class FairComparison:
    """Each competing variant vs the fastest (`baseline`, whose row has verdict ``baseline``)."""

    baseline: str | None
    threshold: float
    threshold_source: str  # ``default`` or ``aa`` (measured by the A/A pair)
    rows: Mapping[str, Comparison] = field(default_factory=dict)
    aa: AAPair | None = None
    turns: str = ""  # where the resampled turns came from (recorded / inferred)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``analysis.comparison`` object."""
        return {
            "baseline": self.baseline,
            "threshold": self.threshold,
            "rows": {label: c.to_dict() for label, c in self.rows.items()},
            "threshold_source": self.threshold_source,
            "aa": self.aa.to_json_dict() if self.aa is not None else None,
            "turns": self.turns,
        }


@dataclass(frozen=True)
class SessionAnalysis:
    """Findings per variant and the fair comparison between variants."""

    findings: Mapping[str, Findings]
    comparison: FairComparison

    def to_json_dict(self) -> dict[str, Any]:
        """``{"backends": {label: findings}, "comparison": …}``."""
        return {
            "backends": {label: f.to_json_dict() for label, f in self.findings.items()},
            "comparison": self.comparison.to_json_dict(),
        }


@dataclass(frozen=True)
class ReportEvent:
    """A recorded event, its time relative to t=0."""

    t_s: float
    t_ns: int
    kind: str  # an `EventKind` value, or a kind this version does not know (kept as written)
    backend: str | None
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event_kind(self) -> EventKind | None:
        """The kind as the shared vocabulary knows it (None for an unknown kind)."""
        return EventKind.parse(self.kind)

    def to_json_dict(self) -> dict[str, Any]:
        """``{"t_s", "t_ns", "kind", "backend", "message", "data"}``."""
        return {
            "t_s": self.t_s,
            "t_ns": self.t_ns,
            "kind": str(self.kind),
            "backend": self.backend,
            "message": self.message,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class Report:
    """The whole report of a run or recorded session (see the module docstring)."""

    plan: Mapping[str, Any]
    system: Mapping[str, Any]
    variants: Mapping[str, VariantResult]
    winners: Mapping[str, str] = field(default_factory=dict)
    analysis: SessionAnalysis | None = None
    events: tuple[ReportEvent, ...] = ()
    outcome: str | None = None
    t0_wall: float | None = None
    duration_s: float = 0.0
    warnings: tuple[str, ...] = ()  # run-level cautions (a variant that uses every core, …)
    notes: tuple[
        str, ...
    ] = ()  # run-level facts to read the table by (a precision other than the default, …)
    session: Any = None  # the session file's path or metadata, when the report is of a session
    wrapper_overhead: tuple[WrapperOverhead, ...] = ()  # wrapper engines vs the engine each wraps
    schema_version: int = SCHEMA_VERSION

    @property
    def interrupted(self) -> bool:
        """The run was stopped before its end."""
        return self.outcome == "interrupted"

    @property
    def all_ok(self) -> bool:
        """At least one variant, and every variant's verdict is ok."""
        return bool(self.variants) and all(r.verdict is Verdict.OK for r in self.variants.values())

    def winner(self, key: str) -> str | None:
        """The label that won winner key `key` (``median``, ``p99``, …), if any."""
        return self.winners.get(key)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON report (schema `SCHEMA_VERSION`): the one producer of ``--format json`` and ``--json``."""
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "backends": {label: r.to_json_dict() for label, r in self.variants.items()},
            "winners": dict(self.winners),
            "analysis": self.analysis.to_json_dict() if self.analysis is not None else None,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "wrapper_overhead": [w.to_json_dict() for w in self.wrapper_overhead],
            "plan": self.plan,
            "system": self.system,
            "events": [e.to_json_dict() for e in self.events],
            "outcome": self.outcome,
            "t0_wall": self.t0_wall,
            "duration_s": self.duration_s,
        }
        if self.session is not None:
            out["session"] = self.session
        return out
