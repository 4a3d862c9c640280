"""Wrapper overhead: what a wrapper engine (Optimum's ``ORTModelFor*`` / ``OVModelFor*``) costs over the engine
it wraps, on the same model and inputs in the same run.

A wrapper says which engine it wraps in its load details (``wraps``: the direct engine's canonical name). Each
measured wrapper variant is paired with a measured variant of that engine — the one with the same threads and
precision at the same batch, else the first of that engine — and compared as any two variants are
(`compare.compare_latencies`: ratio of medians wrapper ÷ direct with its bootstrap 95 % CI, rounds resampled
together in an interleaved run). The direct engine's ``io`` (inputs bound once, or converted every call) is
carried along, since it changes what "direct" means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from infbench.analysis.accuracy import normal_precision
from infbench.analysis.compare import compare_latencies
from infbench.analysis.turns import calls_of, is_paired


class _Variant(Protocol):
    """What pairing reads of a variant's result (`report_model.VariantResult` has it)."""

    @property
    def backend(self) -> str: ...

    @property
    def details(self) -> Mapping[str, Any]: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    @property
    def latency(self) -> Any: ...

    @property
    def is_control(self) -> bool: ...

    @property
    def is_twin(self) -> bool: ...


@dataclass(frozen=True)
class WrapperOverhead:
    """One wrapper variant against the direct variant of the engine it wraps.

    Attributes:
        wrapper: the wrapper variant's label (``optimum-ort``).
        direct: the direct variant's label (``onnxruntime``).
        wraps: the direct engine's name.
        io: the direct variant's ``io`` (``bound`` / ``copy``), None when it did not say.
        ratio: median(wrapper) ÷ median(direct): > 1 means the wrapper is slower.
        ci95: bootstrap 95 % interval of `ratio`.
        p99_ratio: p99(wrapper) ÷ p99(direct), with `p99_ci95`.
        ci_method: how the CIs were computed.
        same_config: the pair ran with the same threads and precision (False: the first variant of the direct
            engine was taken, read the ratio with care).
        wrapper_median_ms / direct_median_ms: the two medians.
    """

    wrapper: str
    direct: str
    wraps: str
    io: str | None
    ratio: float
    ci95: tuple[float, float]
    p99_ratio: float
    p99_ci95: tuple[float, float]
    ci_method: str
    same_config: bool
    wrapper_median_ms: float
    direct_median_ms: float

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object of one pair (``wrapper_overhead`` items of the report)."""
        return {
            "wrapper": self.wrapper,
            "direct": self.direct,
            "wraps": self.wraps,
            "io": self.io,
            "median_ratio": self.ratio,
            "median_ratio_ci95": list(self.ci95),
            "p99_ratio": self.p99_ratio,
            "p99_ratio_ci95": list(self.p99_ci95),
            "ci_method": self.ci_method,
            "same_config": self.same_config,
            "wrapper_median_ms": self.wrapper_median_ms,
            "direct_median_ms": self.direct_median_ms,
        }


def _measured(r: _Variant) -> bool:
    return r.latency is not None and not r.is_control and not r.is_twin


def _config(r: _Variant) -> tuple[Any, Any]:
    return r.details.get("threads"), normal_precision(r.details.get("precision"))


def direct_counterpart(results: Mapping[str, _Variant], label: str) -> tuple[str, bool] | None:
    """(label of the direct variant wrapper `label` is compared with, same threads and precision?), or None
    when `label` wraps nothing or no variant of the engine it wraps was measured at its batch."""
    r = results[label]
    wraps = r.details.get("wraps")
    if not wraps:
        return None
    candidates = [
        other
        for other, o in results.items()
        if other != label
        and o.backend == wraps
        and _measured(o)
        and o.options.get("batch") == r.options.get("batch")
    ]
    for other in candidates:
        if _config(results[other]) == _config(r):
            return other, True
    return (candidates[0], False) if candidates else None


def wrapper_overheads(
    data: Any, results: Mapping[str, _Variant], n_boot: int = 2000
) -> tuple[WrapperOverhead, ...]:
    """Every measured wrapper variant of `results` against its `direct_counterpart`, over the calls of `data`
    (a `RunData`), in the order of `results`."""
    out = []
    paired = is_paired(data)
    for label, r in results.items():
        if not _measured(r):
            continue
        pair = direct_counterpart(results, label)
        if pair is None:
            continue
        direct, same = pair
        try:
            c = compare_latencies(
                calls_of(data, direct)[0], calls_of(data, label)[0], n_boot=n_boot, paired=paired
            )
        except ValueError:  # a side without samples in this phase
            continue
        io = results[direct].details.get("io")
        out.append(
            WrapperOverhead(
                wrapper=label,
                direct=direct,
                wraps=str(r.details["wraps"]),
                io=str(io) if io is not None else None,
                ratio=c.median_ratio,
                ci95=c.median_ratio_ci95,
                p99_ratio=c.p99_ratio,
                p99_ci95=c.p99_ratio_ci95,
                ci_method=c.ci_method,
                same_config=same,
                wrapper_median_ms=float(r.latency.median),
                direct_median_ms=float(results[direct].latency.median),
            )
        )
    return tuple(out)
