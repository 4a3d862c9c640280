"""Whole-corpus time (``--whole-corpus N``): how long one full pass over the corpus takes per variant.

A corpus workload is ceil(texts / batch) inputs (`items`), cycled in order by the engine child, so any `items`
consecutive measured calls run every input once: one pass. The measured calls of a variant are cut into
consecutive, non-overlapping passes (a rest shorter than a pass is left out); a pass's time is the sum of its
calls' durations (the time the engine spent on the corpus, scheduling gaps between turns excluded). The report
gives the median pass time with its 95 % CI (`intervals.quantile_cis`: the passes are the units), sentences/s
(texts per pass ÷ median pass time; the last batch of a pass is completed with the corpus's first texts, so a
pass runs items × batch texts) and real tokens/s (padding excluded: mean real tokens per text × texts per pass
÷ median pass time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from infbench.analysis.intervals import Calls, quantile_cis
from infbench.metrics import METRICS, Metric, fmt_ms, fmt_rate, register
from infbench.records import PHASE_MEASURE

for _m in (
    Metric("corpus_pass_ms", "time per pass", "ms", "lower", fmt_ms, "median time of one full corpus pass"),
    Metric(
        "corpus_sentences_per_s",
        "sentences/s",
        "/s",
        "higher",
        fmt_rate,
        "texts per whole-corpus pass ÷ the median pass time",
    ),
    Metric(
        "corpus_tokens_per_s",
        "real tokens/s",
        "/s",
        "higher",
        fmt_rate,
        "real (non-padding) tokens per whole-corpus pass ÷ the median pass time",
    ),
):
    if _m.key not in METRICS:
        register(_m)


@dataclass(frozen=True)
class CorpusPasses:
    """One variant's whole-corpus passes.

    Attributes:
        batch: its batch size.
        items: calls per pass (ceil(texts / batch)).
        texts: texts run per pass (items × batch).
        passes: complete passes measured.
        pass_s: the time of each pass, seconds, in order.
        median_s / ci95 / ci_method: the median pass time with its 95 % CI and how it was computed.
        sentences_per_s: texts per pass ÷ median pass time.
        tokens_per_s: real tokens per pass ÷ median pass time (None when the corpus's tokens were not counted).
    """

    batch: int
    items: int
    texts: int
    passes: int
    pass_s: tuple[float, ...]
    median_s: float
    ci95: tuple[float, float]
    ci_method: str
    sentences_per_s: float
    tokens_per_s: float | None

    def to_json_dict(self) -> dict[str, Any]:
        """The ``whole_corpus`` object of a backend in the JSON."""
        return {
            "batch": self.batch,
            "items_per_pass": self.items,
            "texts_per_pass": self.texts,
            "passes": self.passes,
            "pass_s": list(self.pass_s),
            "median_s": self.median_s,
            "median_ci95": list(self.ci95),
            "ci_method": self.ci_method,
            "sentences_per_s": self.sentences_per_s,
            "tokens_per_s": self.tokens_per_s,
        }


CORPUS_VALUES: dict[str, Callable[[CorpusPasses], float | None]] = {  # metric key → its value from the passes
    "corpus_pass_ms": lambda c: c.median_s * 1e3,
    "corpus_sentences_per_s": lambda c: c.sentences_per_s,
    "corpus_tokens_per_s": lambda c: c.tokens_per_s,
}


def corpus_getters() -> dict[str, Callable[[Any], float | None]]:
    """Metric key → its value from a `VariantResult` (its ``corpus`` passes; None without them)."""

    def getter(value: Callable[[CorpusPasses], float | None]) -> Callable[[Any], float | None]:
        return lambda r: None if r.corpus is None else value(r.corpus)

    return {key: getter(value) for key, value in CORPUS_VALUES.items()}


def items_per_pass(plan: Mapping[str, Any], options: Mapping[str, Any]) -> int | None:
    """Calls per whole-corpus pass of a variant (its options may carry its own ``batch``): ceil(texts /
    batch); None when the plan has no counted corpus."""
    wl = plan.get("workload") or {}
    texts = wl.get("corpus_texts")
    if not wl.get("corpus") or not isinstance(texts, int) or texts < 1:
        return None
    batch = _batch(options.get("batch", wl.get("batch", 1)))
    return -(-texts // batch)


def passes_wanted(plan: Mapping[str, Any]) -> int:
    """The passes each variant measures at least (``--whole-corpus N``), 0 when off."""
    value = (plan.get("workload") or {}).get("whole_corpus")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def corpus_passes(
    plan: Mapping[str, Any], options: Mapping[str, Any], dur_ns: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> CorpusPasses | None:
    """The passes in one variant's measured call durations (ns, in call order); None when the plan is not a
    whole-corpus run or no complete pass was measured."""
    items = items_per_pass(plan, options)
    if not passes_wanted(plan) or items is None:
        return None
    d = np.asarray(dur_ns, dtype=np.float64)
    n = d.size // items
    if n < 1:
        return None
    per_pass = d[: n * items].reshape(n, items).sum(axis=1) / 1e9
    median = float(np.median(per_pass))
    (ci,), method = quantile_cis(Calls(per_pass), (0.5,), n_boot, np.random.default_rng(seed))
    wl = plan.get("workload") or {}
    batch = _batch(options.get("batch", wl.get("batch", 1)))
    texts = items * batch
    mean_tokens = wl.get("corpus_tokens")
    rate = texts / median if median > 0 else math.inf
    tokens = (
        rate * float(mean_tokens)
        if isinstance(mean_tokens, (int, float)) and not isinstance(mean_tokens, bool) and mean_tokens > 0
        else None
    )
    return CorpusPasses(
        batch=batch,
        items=items,
        texts=texts,
        passes=n,
        pass_s=tuple(float(x) for x in per_pass),
        median_s=median,
        ci95=(float(ci[0]), float(ci[1])),
        ci_method=method.replace("independent calls", "independent passes"),
        sentences_per_s=rate,
        tokens_per_s=tokens,
    )


def corpus_results(data: Any, labels: Mapping[str, Any], n_boot: int = 2000) -> dict[str, CorpusPasses]:
    """Label → its passes, for every variant of `labels` (label → VariantResult) with a complete pass; controls
    and variants whose session kept only a sample of their calls have none."""
    plan = data.plan or {}
    if not passes_wanted(plan):
        return {}
    out: dict[str, CorpusPasses] = {}
    for label, result in labels.items():
        if result.is_control or result.calls_made > result.iterations:
            continue
        _start, dur = data.samples(label, phase=PHASE_MEASURE)
        passes = corpus_passes(plan, result.options, dur, n_boot)
        if passes is not None:
            out[label] = passes
    return out


def with_corpus_passes(data: Any, results: dict[str, Any], n_boot: int = 2000) -> dict[str, Any]:
    """`results` (label → VariantResult) with each variant's whole-corpus passes set (`corpus`)."""
    from dataclasses import replace

    found = corpus_results(data, results, n_boot)
    return {label: replace(r, corpus=found[label]) if label in found else r for label, r in results.items()}


def pass_progress(
    plan: Mapping[str, Any], options: Mapping[str, Any], calls: int
) -> tuple[int, float] | None:
    """(complete passes, fraction of the current pass) after `calls` measured calls of a variant; None when
    the plan is not a whole-corpus run."""
    items = items_per_pass(plan, options)
    if not passes_wanted(plan) or items is None:
        return None
    return calls // items, (calls % items) / items


def _batch(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1
