"""Whole-session analysis for `report`: each backend's findings (see `findings`) and the fair comparison between
backends, whose noise band comes from an A/A pair when the run had one (`run --aa`).

The comparison's CIs resample rounds of the interleaved schedule (turn k of every backend is in round k; see
`analysis.intervals`), and name their method. Which variants compete and which is an A/A twin is read from
their roles (`vocab.Role`), never from engine names or labels. A generating variant's slowdowns are found on
its inter-token latency (`itl_detection`), where a throttle shows as an ITL step.
"""

from __future__ import annotations

from collections.abc import Mapping

from infbench.analysis.compare import compare_latencies, noise_band, relative_comparisons, with_process_spread
from infbench.analysis.findings import backend_analysis, cause_text
from infbench.analysis.generation import variant_series
from infbench.analysis.intervals import Calls
from infbench.analysis.itl_detection import itl_findings
from infbench.analysis.report_model import AAPair, FairComparison, SessionAnalysis, VariantResult
from infbench.analysis.turns import calls_of, is_paired
from infbench.sessions.data import RunData
from infbench.vocab import Verdict

__all__ = ["analyze_session", "cause_text", "fair_comparison"]

DEFAULT_THRESHOLD = 0.05
MIN_AA_BAND = 0.002  # an A/A band narrower than this is luck, not a property of the machine


def _aa_pair(measured: dict[str, Calls], twin: str, original: str, paired: bool) -> AAPair | None:
    a, b = measured[original], measured[twin]
    if not (a.dur.size and b.dur.size):
        return None
    within = compare_latencies(a, b, threshold=0.0, paired=paired, process_sd=0.0)
    band = noise_band(within)  # |ratio - 1| is this run's process offset: not added twice
    return AAPair(a=original, b=twin, noise_band=band, comparison=with_process_spread(within))


def fair_comparison(data: RunData, results: Mapping[str, VariantResult]) -> FairComparison:
    """Each competing backend vs the fastest, with the noise band from an A/A pair when there is one.

    The A/A twin is not a row of the table (it is not a competitor); ``aa`` holds its comparison with its
    original (ratios B/A with CIs, p-value, method) and the band it gives, also with a single backend.
    """
    measured: dict[str, Calls] = {}
    sources = set()
    for label, r in results.items():
        if r.verdict is not Verdict.FAILED and not r.is_control:
            measured[label], source = calls_of(data, label)
            sources.add(source)
    paired = is_paired(data)
    threshold, source = DEFAULT_THRESHOLD, "default"
    twins = [lab for lab in measured if results[lab].twin_of in measured]
    aa = None
    if twins:
        twin = twins[0]
        aa = _aa_pair(measured, twin, str(results[twin].twin_of), paired)
        if aa is not None:
            threshold, source = max(aa.noise_band, MIN_AA_BAND), "aa"
    for twin in twins:
        measured.pop(twin)
    baseline, rows = relative_comparisons(measured, threshold, paired=paired)
    return FairComparison(
        baseline=baseline,
        threshold=float(threshold),
        threshold_source=source,
        rows=rows,
        aa=aa,
        turns=", ".join(sorted(sources)),
    )


def analyze_session(data: RunData, results: Mapping[str, VariantResult]) -> SessionAnalysis:
    """Findings per variant and the fair comparison, over the whole session."""
    infos = data.backend_infos()
    comparison = fair_comparison(data, results)
    band = comparison.aa.noise_band if comparison.aa is not None else None  # sets the smallest step reported
    findings = {
        label: backend_analysis(
            data, label, getattr(infos.get(label), "first_inference_ms", None), noise_band=band
        )
        for label in results
    }
    for label, r in results.items():  # a generating variant: detection runs on its inter-token latency
        series = variant_series(data, label, r.generation.batch) if r.generation is not None else None
        if series is not None and not r.is_control:
            findings[label] = itl_findings(data, label, series, findings[label], noise_band=band)
    return SessionAnalysis(findings=findings, comparison=comparison)
