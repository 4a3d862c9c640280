"""Whole-session analysis for `report`: each backend's findings (see `findings`) and the fair comparison between
backends, whose noise band comes from an A/A pair when the run had one (`run --aa`).
"""

from __future__ import annotations

from typing import Any

from infbench.analysis.compare import noise_band_from_aa, relative_table
from infbench.analysis.findings import RECOVERY, backend_analysis, cause_text, infos_backend
from infbench.records import PHASE_MEASURE
from infbench.sessions.data import RunData

__all__ = ["RECOVERY", "analyze_session", "cause_text", "fair_comparison", "infos_backend"]

DEFAULT_THRESHOLD = 0.05
CONTROL_BACKENDS = {"null"}
AA_SUFFIX = "#aa"


def fair_comparison(data: RunData, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each competing backend vs the fastest, with the noise band from an A/A pair when there is one."""
    measured = {label: data.samples(label, phase=PHASE_MEASURE)[1] for label, r in results.items()
                if r.get("status") != "failed" and r.get("backend") not in CONTROL_BACKENDS}
    threshold, source = DEFAULT_THRESHOLD, "default"
    twins = [lab for lab in measured if lab.endswith(AA_SUFFIX) and lab[: -len(AA_SUFFIX)] in measured]
    aa = None
    if twins:
        twin = twins[0]
        a, b = measured[twin[: -len(AA_SUFFIX)]], measured.pop(twin)
        if a.size and b.size:
            band = noise_band_from_aa(a, b)
            threshold, source = max(band, 0.002), "aa"
            aa = {"a": twin[: -len(AA_SUFFIX)], "b": twin, "noise_band": band}
    table = relative_table(measured, threshold)
    table["threshold_source"] = source
    table["aa"] = aa
    return table


def analyze_session(data: RunData, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"backends": {label: findings}, "comparison": fair_comparison}`` over the whole session."""
    infos = data.backend_infos()
    per = {label: backend_analysis(data, label, getattr(infos.get(label), "first_inference_ms", None))
           for label in results}
    return {"backends": per, "comparison": fair_comparison(data, results)}
