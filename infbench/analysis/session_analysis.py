"""Whole-session analysis for `report`: each backend's findings (see `findings`) and the fair comparison between
backends, whose noise band comes from an A/A pair when the run had one (`run --aa`).

The comparison's CIs resample rounds of the interleaved schedule (turn k of every backend is in round k; see
`analysis.intervals`), and name their method.
"""

from __future__ import annotations

from typing import Any

from infbench.analysis.compare import compare_latencies, noise_band, relative_table, with_process_spread
from infbench.analysis.findings import RECOVERY, backend_analysis, cause_text, infos_backend
from infbench.analysis.turns import calls_of, is_paired
from infbench.sessions.data import RunData

__all__ = ["RECOVERY", "analyze_session", "cause_text", "fair_comparison", "infos_backend"]

DEFAULT_THRESHOLD = 0.05
CONTROL_BACKENDS = {"null"}
AA_SUFFIX = "#aa"


def fair_comparison(data: RunData, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each competing backend vs the fastest, with the noise band from an A/A pair when there is one.

    The A/A twin is not a row of the table (it is not a competitor); ``aa`` holds its comparison with its
    original (ratios B/A with CIs, p-value, method) and the band it gives, also with a single backend.
    """
    measured, sources = {}, set()
    for label, r in results.items():
        if r.get("status") != "failed" and r.get("backend") not in CONTROL_BACKENDS:
            measured[label], source = calls_of(data, label)
            sources.add(source)
    paired = is_paired(data)
    threshold, source = DEFAULT_THRESHOLD, "default"
    twins = [lab for lab in measured if lab.endswith(AA_SUFFIX) and lab[: -len(AA_SUFFIX)] in measured]
    aa = None
    if twins:
        twin = twins[0]
        a, b = measured[twin[: -len(AA_SUFFIX)]], measured.pop(twin)
        if a.dur.size and b.dur.size:
            within = compare_latencies(a, b, threshold=0.0, paired=paired, process_sd=0.0)
            band = noise_band(within)  # |ratio - 1| is this run's process offset: not added twice
            c = with_process_spread(within)
            threshold, source = max(band, 0.002), "aa"
            aa = {
                "a": twin[: -len(AA_SUFFIX)],
                "b": twin,
                "noise_band": band,
                "median_ratio": c.median_ratio,
                "median_ratio_ci95": list(c.median_ratio_ci95),
                "p99_ratio": c.p99_ratio,
                "p99_ratio_ci95": list(c.p99_ratio_ci95),
                "p_value": c.p_value,
                "ci_method": c.ci_method,
            }
    table = relative_table(measured, threshold, paired=paired)
    table["threshold_source"] = source
    table["aa"] = aa
    table["turns"] = ", ".join(sorted(sources))
    return table


def analyze_session(data: RunData, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"backends": {label: findings}, "comparison": fair_comparison}`` over the whole session."""
    infos = data.backend_infos()
    comparison = fair_comparison(data, results)
    band = (comparison.get("aa") or {}).get(
        "noise_band"
    )  # the A/A band sets the smallest step worth reporting
    per = {
        label: backend_analysis(
            data, label, getattr(infos.get(label), "first_inference_ms", None), noise_band=band
        )
        for label in results
    }
    return {"backends": per, "comparison": comparison}
