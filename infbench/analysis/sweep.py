"""Parameter sweeps: the configuration grid, the latency-vs-throughput Pareto set and a recommendation.

Pure functions over plain values and numpy arrays (no I/O, no threads, no UI). The `sweep` command builds
one backend configuration per grid point, runs them all in one interleaved run, and hands the per-label
results of `analysis.summary.build_report` (plus the measured latency samples) to `recommend`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from infbench.analysis.compare import SLOWER, compare_latencies
from infbench.analysis.intervals import Calls

OBJECTIVES = ("latency", "throughput")
GAIN = "gain"
NO_GAIN = "no significant gain over the default"
NO_DEFAULT = "no default to compare with"
DEFAULT_THRESHOLD = 0.05

# Option values a backend uses when the option is not given: a grid point made only of these is the default.
OPTION_DEFAULTS: dict[str, Any] = {
    "execution_mode": "sequential",
    "graph_opt": "all",
    "hint": "none",
    "batch": 1,
}
# Order of the options in a label, and how each is abbreviated.
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


def is_default_config(options: dict[str, Any]) -> bool:
    """True when every option equals the value the backend uses anyway (so the point *is* the default)."""
    return all(k in OPTION_DEFAULTS and str(v) == str(OPTION_DEFAULTS[k]) for k, v in options.items())


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def sweep_points(report_backends: dict[str, dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """(median latency ms, samples/s) of every configuration that finished ``ok`` with both values."""
    out: dict[str, tuple[float, float]] = {}
    for label, r in report_backends.items():
        median = (r.get("latency_ms") or {}).get("median")
        sps = r.get("samples_per_s")
        if r.get("status") == "ok" and _finite(median) and _finite(sps):
            out[label] = (float(median), float(sps))
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
    report_backends: dict[str, dict[str, Any]],
    default_label: str,
    objective: str = "latency",
    samples: dict[str, np.ndarray | Calls] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_boot: int = 2000,
    seed: int = 0,
    paired: bool = False,
) -> Recommendation | None:
    """The best configuration for `objective` and its margin over `default_label`; None when none finished ok.

    Only configurations with status ``ok`` compete (failed and degraded ones are left out). For latency the
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
    points = sweep_points(report_backends)
    if not points:
        return None
    best = _best(points, objective)
    index = 0 if objective == "latency" else 1
    metric = "median_ms" if objective == "latency" else "samples_per_s"
    value = points[best][index]
    common = {
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


def sweep_summary(
    report_backends: dict[str, dict[str, Any]],
    grid: list[dict[str, Any]],
    default_label: str,
    objective: str = "latency",
    samples: dict[str, np.ndarray | Calls] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    paired: bool = False,
    defaults: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``sweep`` object of the JSON report: grid, Pareto set and recommendation.

    Args:
        report_backends: per-label results (``build_report(...)["backends"]``).
        grid: ``{"label", "options", "default"}`` per configuration, in plan order (plus ``backend`` when
            several backends are swept).
        default_label: label of the default configuration (of the first backend when there are several).
        objective: ``latency`` or ``throughput``.
        samples: measured latency samples (ns) per label, for the latency margin's CI.
        threshold: noise band half-width.
        paired: the configurations ran interleaved in one run (their CIs then resample rounds).
        defaults: backend → its default configuration's label, when several backends are swept. Each backend
            then gets its own recommendation (``by_backend``: its best configuration vs its own default); the
            overall ``recommendation`` is the best configuration of all, with the margin over its backend's
            default, and ``default`` is that default's label.
    """
    pareto = pareto_front(sweep_points(report_backends))
    if not defaults or len(defaults) < 2:
        rec = recommend(report_backends, default_label, objective, samples, threshold, paired=paired)
        return {
            "objective": objective,
            "threshold": float(threshold),
            "default": default_label,
            "grid": grid,
            "pareto": pareto,
            "recommendation": rec.to_dict() if rec is not None else None,
        }
    by_backend: dict[str, dict[str, Any] | None] = {}
    for backend, default in defaults.items():
        labels = {g["label"] for g in grid if g.get("backend") == backend}
        mine = {k: v for k, v in report_backends.items() if k in labels}
        rec = recommend(mine, default, objective, samples, threshold, paired=paired)
        by_backend[backend] = rec.to_dict() if rec is not None else None
    points = sweep_points(report_backends)
    overall, default = None, default_label
    if points:
        best = _best(points, objective)
        owner = next((g.get("backend") for g in grid if g["label"] == best), None)
        overall = by_backend.get(owner) if owner is not None else None
        default = defaults.get(owner, default_label) if owner is not None else default_label
    return {
        "objective": objective,
        "threshold": float(threshold),
        "default": default,
        "defaults": dict(defaults),
        "grid": grid,
        "pareto": pareto,
        "recommendation": overall,
        "by_backend": by_backend,
    }
