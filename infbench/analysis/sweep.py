"""Parameter sweeps: the configuration grid, the latency-vs-throughput Pareto set and a recommendation.

Pure functions over typed values and numpy arrays (no I/O, no threads, no UI), plus `sweep_result`, which reads
a recorded run: the `sweep` command stores its grid in the plan (`plan.spec.SweepSpec`), so the end of a sweep
and a later `report` of its session compute the same `SweepResult` from the same session data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infbench.analysis.compare import SLOWER, compare_latencies
from infbench.analysis.intervals import Calls
from infbench.analysis.report_model import VariantResult
from infbench.analysis.summary import backend_results
from infbench.analysis.turns import calls_of
from infbench.plan.spec import SweepSpec
from infbench.sessions.data import RunData
from infbench.vocab import Role, Verdict

OBJECTIVES = ("latency", "throughput")
GAIN = "gain"
NO_GAIN = "no significant gain over the default"
NO_DEFAULT = "no default to compare with"
DEFAULT_THRESHOLD = 0.05

# Order of the options in a label, and how each is abbreviated (options not listed print as key=value).
_LABEL_ORDER = (
    "threads",
    "inter_threads",
    "execution_mode",
    "graph_opt",
    "streams",
    "hint",
    "precision",
    "batch",
)
_ABBREV: dict[str, Any] = {
    "threads": lambda v: f"t{v}",
    "inter_threads": lambda v: f"i{v}",
    "execution_mode": lambda v: {"sequential": "seq", "parallel": "par"}.get(str(v), str(v)),
    "graph_opt": lambda v: f"opt-{v}",
    "streams": lambda v: f"s{v}",
    "hint": lambda v: {"latency": "lat", "throughput": "tput", "none": "nohint"}.get(str(v), f"hint-{v}"),
    "precision": lambda v: str(v),
    "batch": lambda v: f"b{v}",
}


@dataclass(frozen=True)
class Recommendation:
    """The recommended configuration and its margin over the backend's default configuration.

    Attributes:
        label: the recommended configuration's label.
        metric: ``median_ms`` (latency objective) or ``samples_per_s`` (throughput objective).
        value: the recommended configuration's value of `metric`.
        default_value: the default configuration's value of `metric` (None when it has no result).
        margin: how much better than the default, as a ratio > 1 when better: median(default) / median(best)
            for latency, samples/s(best) / samples/s(default) for throughput.
        margin_ci95: bootstrap 95 % interval of `margin` (latency objective with samples; else None).
        verdict: ``gain``, ``no significant gain over the default`` or ``no default to compare with``.
        reason: one sentence explaining the verdict.
        objective: ``latency`` or ``throughput``.
        default_label: label of the default configuration.
        ci_method: how `margin_ci95` was computed (e.g. ``paired round bootstrap (24 rounds)``), or "".
    """

    label: str
    metric: str
    value: float
    default_value: float | None
    margin: float | None
    margin_ci95: tuple[float, float] | None
    verdict: str
    reason: str
    objective: str = "latency"
    default_label: str = ""
    ci_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CI as a two-element list or None)."""
        d = asdict(self)
        d["margin_ci95"] = list(self.margin_ci95) if self.margin_ci95 is not None else None
        return d


@dataclass(frozen=True)
class ConfigResult:
    """One configuration of a sweep and what it measured: a row of the sweep table.

    Attributes:
        label: the configuration's label (``ort t2 b1``).
        backend: canonical engine name.
        options: the options the grid set (fixed ones included), without the common ones (``--device``).
        default: this is its engine's default configuration.
        verdict: the result status; only ``ok`` competes for the Pareto set and the recommendation.
        median_ms: median latency per call, ms (None when nothing was measured).
        median_ci95: bootstrap 95 % interval of the median, ms.
        p99_ms: 99th percentile latency, ms.
        samples_per_s: calls/s × batch.
        ci_method: how the latency CIs were computed.
        why: the error or the degraded reasons ("" when ok).
        roles: the variant's roles (a ``control`` is shown, never in the Pareto set nor recommended).
    """

    label: str
    backend: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    default: bool = False
    verdict: Verdict = Verdict.OK
    median_ms: float | None = None
    median_ci95: tuple[float, float] | None = None
    p99_ms: float | None = None
    samples_per_s: float | None = None
    ci_method: str = ""
    why: str = ""
    roles: tuple[str, ...] = ()

    @property
    def is_control(self) -> bool:
        """A harness control (the engine declares the ``control`` role)."""
        return Role.CONTROL in self.roles

    @property
    def competes(self) -> bool:
        """Finished ok and is not a harness control: can be on the Pareto set and recommended."""
        return self.verdict is Verdict.OK and not self.is_control

    @classmethod
    def from_variant(cls, point: Mapping[str, Any], result: VariantResult | None) -> ConfigResult:
        """A row from a grid point (``{"label", "backend", "options", "default"}``) and its variant's result
        (None when the session never recorded the label)."""
        lat = result.latency if result is not None else None
        ci = lat.median_ci95 if lat is not None else None
        return cls(
            label=str(point["label"]),
            backend=str(point.get("backend", "")),
            options=dict(point.get("options") or {}),
            default=bool(point.get("default")),
            verdict=result.verdict if result is not None else Verdict.NOT_STARTED,
            median_ms=_number(lat.median) if lat is not None else None,
            median_ci95=(float(ci[0]), float(ci[1])) if ci and _finite(ci[0]) and _finite(ci[1]) else None,
            p99_ms=_number(lat.p99) if lat is not None else None,
            samples_per_s=_number(result.samples_per_s) if result is not None else None,
            ci_method=lat.ci_method if lat is not None else "",
            why=result.reason if result is not None else "never recorded in this session",
            roles=tuple(result.roles) if result is not None else (),
        )

    def point(self) -> dict[str, Any]:
        """The grid point as stored in the JSON ``sweep.grid`` list."""
        return {
            "label": self.label,
            "backend": self.backend,
            "options": dict(self.options),
            "default": self.default,
        }


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: every configuration's row, the Pareto set and the recommendation(s).

    Attributes:
        model: the model swept (as in the plan).
        seq: the sequence length of the workload (for the title).
        objective: ``latency`` or ``throughput``.
        threshold: noise band half-width.
        configs: one row per configuration, in plan order (each engine's default first).
        defaults: engine → the label of its default configuration.
        pareto: labels on the latency-vs-samples/s Pareto front, in plan order.
        recommendation: the best configuration of all, with its margin over its engine's default (None when no
            configuration finished ok).
        by_backend: with several engines swept (controls not counted), each engine's best configuration vs its
            own default (else empty).
        default: the default the overall recommendation is compared with.
    """

    model: str
    seq: Any
    objective: str
    threshold: float
    configs: tuple[ConfigResult, ...]
    defaults: dict[str, str]
    pareto: tuple[str, ...]
    recommendation: Recommendation | None
    by_backend: dict[str, Recommendation | None]
    default: str

    @property
    def several(self) -> bool:
        """More than one engine (not counting controls) was swept: each then gets its own recommendation."""
        return bool(self.by_backend)

    def to_dict(self) -> dict[str, Any]:
        """The ``sweep`` object of the JSON report (``defaults`` and ``by_backend`` only with several engines)."""
        d: dict[str, Any] = {
            "objective": self.objective,
            "threshold": float(self.threshold),
            "default": self.default,
            "grid": [c.point() for c in self.configs],
            "pareto": list(self.pareto),
            "recommendation": self.recommendation.to_dict() if self.recommendation is not None else None,
        }
        if self.several:
            d["defaults"] = dict(self.defaults)
            d["by_backend"] = {b: r.to_dict() if r is not None else None for b, r in self.by_backend.items()}
        return d


def grid_configs(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of option values, in the order given: ``{"threads": [1, 2]}`` → two option dicts."""
    keys = [k for k in axes if axes[k]]
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def config_label(prefix: str, options: dict[str, Any]) -> str:
    """A short readable label: ``ort t2 i1 par b8``; options without an abbreviation as ``key=value``."""
    parts = [prefix]
    for key in sorted(
        options, key=lambda k: (_LABEL_ORDER.index(k) if k in _LABEL_ORDER else len(_LABEL_ORDER), k)
    ):
        abbrev = _ABBREV.get(key)
        parts.append(abbrev(options[key]) if abbrev else f"{key}={options[key]}")
    return " ".join(parts)


def is_default_config(options: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """True when every option equals the value the engine uses anyway (`defaults`: option → its declared
    default; an option with no declared default is never a default), so the grid point *is* the default."""
    return all(k in defaults and str(v) == str(defaults[k]) for k, v in options.items())


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(v: Any) -> float | None:
    return float(v) if _finite(v) else None


def sweep_points(configs: Mapping[str, ConfigResult]) -> dict[str, tuple[float, float]]:
    """(median latency ms, samples/s) of every competing configuration (ok, not a control) with both values."""
    out: dict[str, tuple[float, float]] = {}
    for label, c in configs.items():
        if c.competes and c.median_ms is not None and c.samples_per_s is not None:
            out[label] = (c.median_ms, c.samples_per_s)
    return out


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Labels not dominated by another point (lower latency and higher throughput are better), input order.

    A point is dominated when another is at least as good on both and strictly better on one, so equal points
    are all kept. Points with a non-finite value are left out.
    """
    pts = {k: v for k, v in points.items() if _finite(v[0]) and _finite(v[1])}

    def dominated(lat: float, sps: float) -> bool:
        return any(
            (o_lat <= lat and o_sps >= sps) and (o_lat < lat or o_sps > sps) for o_lat, o_sps in pts.values()
        )

    return [k for k, (lat, sps) in pts.items() if not dominated(lat, sps)]


def _best(points: dict[str, tuple[float, float]], objective: str) -> str:
    """Best label: lowest median (tie: higher samples/s) or highest samples/s (tie: lower median)."""
    if objective == "latency":
        return min(points, key=lambda k: (points[k][0], -points[k][1]))
    return min(points, key=lambda k: (-points[k][1], points[k][0]))


def recommend(
    configs: Mapping[str, ConfigResult],
    default_label: str,
    objective: str = "latency",
    samples: Mapping[str, np.ndarray | Calls] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_boot: int = 2000,
    seed: int = 0,
    paired: bool = False,
) -> Recommendation | None:
    """The best configuration for `objective` and its margin over `default_label`; None when none finished ok.

    Only configurations with verdict ``ok`` compete (failed and degraded ones are left out). For latency the
    margin is median(default) / median(best) per call, with a bootstrap CI from `compare_latencies` on the
    latency samples (ns, measured phase; `Calls` with turns to resample turns, `paired` when the configurations
    ran interleaved in one run) when given; it is a gain only when that comparison clears the noise
    band (`threshold`) with significance. For throughput the margin is the plain ratio of samples/s, a gain
    when it exceeds 1 + `threshold`.

    Raises:
        ValueError: for an unknown objective.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    points = sweep_points(configs)
    if not points:
        return None
    best = _best(points, objective)
    index = 0 if objective == "latency" else 1
    metric = "median_ms" if objective == "latency" else "samples_per_s"
    value = points[best][index]
    common: dict[str, Any] = {
        "label": best,
        "metric": metric,
        "value": value,
        "objective": objective,
        "default_label": default_label,
    }
    if default_label not in points:
        return Recommendation(
            default_value=None,
            margin=None,
            margin_ci95=None,
            verdict=NO_DEFAULT,
            reason=f"the default configuration {default_label!r} has no usable result",
            **common,
        )
    default_value = points[default_label][index]
    if best == default_label:
        return Recommendation(
            default_value=default_value,
            margin=1.0,
            margin_ci95=(1.0, 1.0),
            verdict=NO_GAIN,
            reason="the default configuration is the best one measured",
            **common,
        )
    a = None if samples is None else samples.get(best)
    b = None if samples is None else samples.get(default_label)
    if objective == "latency" and a is not None and b is not None and _size(a) and _size(b):
        c = compare_latencies(a, b, threshold=threshold, n_boot=n_boot, seed=seed, paired=paired)
        margin, ci, method = c.median_ratio, c.median_ratio_ci95, c.ci_method
        gain = c.verdict == SLOWER  # the default is slower than the best
        why = (
            f"the 95 % CI of the median ratio [{ci[0]:.3f}, {ci[1]:.3f}] "
            f"{'clears' if gain else 'does not clear'} the ±{threshold:.0%} noise band (p={c.p_value:.2g})"
        )
    else:
        margin = default_value / value if objective == "latency" else value / default_value
        margin = margin if math.isfinite(margin) else float("inf")
        ci, method = None, ""
        gain = margin > 1.0 + threshold
        why = f"the ratio {margin:.3f} {'exceeds' if gain else 'is within'} the ±{threshold:.0%} noise band"
    return Recommendation(
        default_value=default_value,
        margin=margin,
        margin_ci95=ci,
        verdict=GAIN if gain else NO_GAIN,
        reason=why,
        ci_method=method,
        **common,
    )


def _size(x: np.ndarray | Calls) -> int:
    return int(np.size(x.dur if isinstance(x, Calls) else x))


def summarize_sweep(
    configs: Sequence[ConfigResult],
    defaults: Mapping[str, str],
    objective: str = "latency",
    samples: Mapping[str, np.ndarray | Calls] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    paired: bool = False,
    model: str = "?",
    seq: Any = "?",
) -> SweepResult:
    """Pareto set and recommendation(s) of measured configurations.

    Args:
        configs: one row per configuration, in plan order.
        defaults: engine → the label of its default configuration (at least one engine).
        objective: ``latency`` or ``throughput``.
        samples: measured latency samples (ns, or `Calls` with turns) per label, for the latency margin's CI.
        threshold: noise band half-width.
        paired: the configurations ran interleaved in one run (their CIs then resample rounds).
        model, seq: what was swept (for the title).

    With several engines each gets its own recommendation (``by_backend``: its best configuration vs its own
    default); the overall recommendation is the best configuration of all, with the margin over its engine's
    default, and ``default`` is that default's label.
    """
    if not defaults:
        raise ValueError("a sweep needs at least one engine's default configuration")
    rows = {c.label: c for c in configs}
    # a control engine (every configuration a control) is measured and shown, but gets no recommendation
    engines = {b: d for b, d in defaults.items() if any(c.backend == b and not c.is_control for c in configs)}
    engines = engines or dict(defaults)
    pareto = tuple(pareto_front(sweep_points(rows)))
    first_default = next(iter(engines.values()))
    common = {"model": model, "seq": seq, "objective": objective, "threshold": float(threshold)}
    if len(engines) < 2:
        rec = recommend(rows, first_default, objective, samples, threshold, paired=paired)
        return SweepResult(
            configs=tuple(configs),
            defaults=dict(defaults),
            pareto=pareto,
            recommendation=rec,
            by_backend={},
            default=first_default,
            **common,
        )
    by_backend: dict[str, Recommendation | None] = {}
    for backend, default in engines.items():
        mine = {c.label: c for c in configs if c.backend == backend}
        by_backend[backend] = recommend(mine, default, objective, samples, threshold, paired=paired)
    points = sweep_points(rows)
    overall, default_label = None, first_default
    if points:
        owner = rows[_best(points, objective)].backend
        overall = by_backend.get(owner)
        default_label = engines.get(owner, first_default)
    return SweepResult(
        configs=tuple(configs),
        defaults=dict(defaults),
        pareto=pareto,
        recommendation=overall,
        by_backend=by_backend,
        default=default_label,
        **common,
    )


def sweep_result(
    data: RunData, variants: Mapping[str, VariantResult] | None = None, n_boot: int = 2000
) -> SweepResult | None:
    """The sweep a recorded run is, from the grid stored in its plan; None when the run is not a sweep.

    Args:
        data: a live store or an opened session.
        variants: the per-label results when already computed (``build_report(data).variants``); else they
            are computed here with `n_boot` bootstrap resamples.
        n_boot: bootstrap resamples for the per-label CIs when `variants` is None.
    """
    plan = data.plan or {}
    raw = plan.get("sweep")
    if not isinstance(raw, dict) or not raw.get("points") or not raw.get("defaults"):
        return None
    spec = SweepSpec.from_dict(raw)
    if variants is None:
        variants = backend_results(data, n_boot=n_boot)
    configs = [ConfigResult.from_variant(p, variants.get(str(p.get("label")))) for p in spec.points]
    samples = {c.label: calls_of(data, c.label)[0] for c in configs if c.label in variants}
    return summarize_sweep(
        configs,
        spec.defaults,
        spec.objective,
        samples,
        spec.threshold,
        paired=plan.get("schedule") == "interleaved",
        model=str(plan.get("model", "?")),
        seq=(plan.get("workload") or {}).get("seq", "?"),
    )
