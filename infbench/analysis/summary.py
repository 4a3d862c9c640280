"""The results of a run, as `run --headless` and `report` show them: a typed `Report` built only from `RunData`.

Used for a live run (from the `LiveStore`) and for a recorded session (from the `SessionReader`), so both
give the same numbers. The report's types are in `report_model`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.analysis.accuracy import FULL_PRECISION, changes_numerics, normal_precision, precision_text
from infbench.analysis.compare import compare_latencies
from infbench.analysis.contention import every_core_warning
from infbench.analysis.corpus_time import with_corpus_passes
from infbench.analysis.generation import with_generation
from infbench.analysis.report_model import (
    WINNER_METRICS,
    ColdStart,
    Memory,
    Parity,
    Relative,
    Report,
    ReportEvent,
    Speedup,
    VariantResult,
)
from infbench.analysis.stages import with_stages
from infbench.analysis.stats import summarize
from infbench.analysis.turns import calls_of, is_paired
from infbench.analysis.wrappers import wrapper_overheads
from infbench.metrics import metric
from infbench.records import PHASE_MEASURE, PHASE_WARMUP
from infbench.sessions.data import RunData
from infbench.vocab import EventKind, Status, Verdict

USER_STOP = "stopped by the user"  # the runner's event message for a backend stopped with x


def tokens_per_call(plan: dict[str, Any]) -> tuple[float | None, bool]:
    """(tokens per call, approximate?) from the plan's workload: batch × seq.

    With a corpus whose tokens were counted (``corpus_tokens``, the mean real tokens per text), batch × that:
    padding excluded, exact over whole passes of the corpus.

    With a sequence-length distribution or a corpus the true count varies per input; batch × seq (the maximum) is then
    returned with approximate=True. A ``--task generate`` run has none: its section gives prefill and decode tokens/s.
    """
    wl = plan.get("workload") or {}
    if wl.get("task") == "generate":
        return (
            None,
            False,
        )  # a generate call's tokens are prefill + decode: the generation section splits them
    try:
        batch, seq = int(wl.get("batch", 1)), int(wl.get("seq", 0))
    except (TypeError, ValueError):
        return None, False
    if seq <= 0:
        return None, False
    corpus_tokens = wl.get("corpus_tokens")
    if wl.get("corpus") and isinstance(corpus_tokens, (int, float)) and corpus_tokens > 0:
        return batch * float(corpus_tokens), False
    return batch * seq, bool(wl.get("seq_dist") or wl.get("corpus"))


def stopped_by_user(data: RunData) -> set[str]:
    """Labels the user stopped during the run (the runner's ``… stopped by the user`` status events)."""
    return {
        e.backend
        for e in data.events()
        if e.kind == EventKind.STATUS and e.backend and USER_STOP in e.message
    }


def verdict_of(
    info: Any, has_samples: bool, user_stopped: bool = False, outcome: str | None = "complete"
) -> tuple[Verdict, str | None]:
    """(verdict, reason) of one backend for the report from its stored status and whether it measured.

    A backend the user stopped is ``stopped`` (with or without samples). One without samples that did not
    fail was never measured: ``not started``, because the run was interrupted, or ended before its turn.
    """
    status = Status.parse(info.status)
    if status is Status.FAILED:
        return Verdict.FAILED, info.error or "failed"
    if user_stopped:
        when = "after its measured calls" if has_samples else "before it was measured"
        return Verdict.STOPPED, info.error or f"{USER_STOP} (x in the live TUI) {when}"
    if not has_samples:
        if outcome == "interrupted":
            return Verdict.NOT_STARTED, "run interrupted before it was measured"
        if status.final and status is not Status.STOPPED:  # finished without a measured call: wrong
            return Verdict.FAILED, info.error or "no measured samples"
        return Verdict.NOT_STARTED, info.error or (
            "run ended before it was measured"
            if outcome
            else "the recording was cut off before it was measured"
        )
    if status is Status.STOPPED:  # measured, then stopped though not by the user (older sessions)
        return Verdict.STOPPED, info.error or "stopped before the end of the run"
    if info.degraded_reasons or status is Status.DEGRADED:
        return Verdict.DEGRADED, info.error or "; ".join(info.degraded_reasons) or "degraded"
    return Verdict.OK, info.error


def _calls_made(data: RunData, label: str, kept: int) -> int:
    """Measured calls the engine made (its turns' counts), which can exceed the calls kept in the session."""
    turns = getattr(data, "turns", None)
    calls = turns(label, PHASE_MEASURE)[2] if callable(turns) else []
    return max(kept, int(np.sum(calls))) if len(calls) else kept


def _int(value: Any, default: int) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _variant(
    data: RunData,
    label: str,
    info: Any,
    batch: int,
    tpc: float | None,
    approx: bool,
    stopped: bool,
    n_boot: int,
) -> VariantResult:
    calls, _source = calls_of(data, label, PHASE_MEASURE)
    dur = calls.dur
    own_batch = _int(info.options.get("batch"), batch)  # a sweep may run backends at their own batch
    _, wdur = data.samples(label, phase=PHASE_WARMUP)
    verdict, error = verdict_of(info, dur.size > 0, stopped, data.outcome())
    st = summarize(dur, batch=own_batch, n_boot=n_boot, turns=calls.turn) if dur.size else None
    details = dict(getattr(info, "details", None) or {})
    return VariantResult(
        label=label,
        backend=info.backend,
        verdict=verdict,
        error=error,
        roles=tuple(getattr(info, "roles", None) or ()),
        twin_of=getattr(info, "twin_of", None),
        degraded_reasons=tuple(info.degraded_reasons),
        options=dict(info.options),
        providers=tuple(info.providers),
        latency=st,
        throughput_per_s=st.throughput_per_s if st else None,
        samples_per_s=st.samples_per_s if st else None,
        tokens_per_s=st.throughput_per_s * tpc * own_batch / batch if st and tpc is not None else None,
        tokens_per_s_approximate=approx,
        cold_start=ColdStart(info.load_ms, info.first_inference_ms),
        memory=Memory(info.rss_after_load_mb, info.rss_peak_mb),
        model_size_mb=info.model_size_mb,
        parity=Parity.from_dict(info.parity),
        iterations=int(dur.size),
        calls_made=_calls_made(data, label, int(dur.size)),
        warmup_iterations=int(wdur.size),
        precision=precision_text(details, info.options),
        details=details,
        model_file_mb=_float(details.get("model_file_mb")),
    )


def backend_results(data: RunData, n_boot: int = 2000) -> dict[str, VariantResult]:
    """Each variant's result over its ``measure`` calls, with its ratio to the fastest competing variant."""
    plan = data.plan or {}
    batch = _int((plan.get("workload") or {}).get("batch", 1), 1)
    tpc, approx = tokens_per_call(plan)
    user_stopped = stopped_by_user(data)
    out = {
        label: _variant(data, label, info, batch, tpc, approx, label in user_stopped, n_boot)
        for label, info in data.backend_infos().items()
    }
    out = with_generation(data, out, n_boot)  # TTFT, ITL, tokens/s of generating variants (`--task generate`)
    out = with_corpus_passes(data, out, n_boot)  # whole-corpus pass times (`--whole-corpus`)
    out = with_stages(data, out)  # where the time of a call goes (engines with call parts: `pipeline`)
    return _with_speedups(data, _with_relative(out), n_boot)


_NUMERIC_OPTIONS = ("precision", "quant")  # the options that make a variant the fp32 one or not


def fp32_counterpart(results: dict[str, VariantResult], label: str) -> str | None:
    """The fp32 variant of the same engine that `label` (a variant that changes the numerics) is sped up
    against: measured, not a control or A/A twin, at full precision, at the same batch; the one whose other
    options are the same as `label`'s, else the one differing in the fewest, the first in order on a tie."""
    r = results[label]
    mine = {k: v for k, v in r.options.items() if k not in _NUMERIC_OPTIONS}
    best: tuple[int, str] | None = None
    for other, o in results.items():
        if (
            other == label
            or o.backend != r.backend
            or o.latency is None
            or o.is_control
            or o.is_twin
            or changes_numerics(o.details, o.options)
            or o.options.get("batch") != r.options.get("batch")
        ):
            continue
        theirs = {k: v for k, v in o.options.items() if k not in _NUMERIC_OPTIONS}
        differ = sum(1 for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if best is None or differ < best[0]:
            best = (differ, other)
    return best[1] if best is not None else None


def _with_speedups(data: RunData, results: dict[str, VariantResult], n_boot: int) -> dict[str, VariantResult]:
    """Each measured variant that changes the numerics gets its speed-up over its `fp32_counterpart`: the ratio
    of medians with the comparison's CI (rounds resampled together in an interleaved run)."""
    from dataclasses import replace

    out = dict(results)
    for label, r in results.items():
        if r.latency is None or r.is_control or not changes_numerics(r.details, r.options):
            continue
        ref = fp32_counterpart(results, label)
        if ref is None:
            continue
        c = compare_latencies(
            calls_of(data, label)[0], calls_of(data, ref)[0], n_boot=n_boot, paired=is_paired(data)
        )
        # B/A with A = this variant: the fp32 median over this one's, > 1 when this one is faster
        out[label] = replace(r, speedup=Speedup(ref, c.median_ratio, c.median_ratio_ci95, c.ci_method))
    return out


def precision_notes(results: dict[str, VariantResult]) -> list[str]:
    """A line per engine whose variants ran f32 where the engine would compute in another precision by default
    on this machine (it reports ``default_precision`` in its load details, e.g. OpenVINO on a CPU with bf16):
    a user of the engine's defaults and own tools measures that precision, not the table's."""
    forced: dict[tuple[str, str], list[str]] = {}
    ran_at: dict[tuple[str, str], list[str]] = {}
    for label, r in results.items():
        ran = normal_precision(r.details.get("precision"))
        default = normal_precision(r.details.get("default_precision"))
        if ran == FULL_PRECISION and default and default != FULL_PRECISION:
            forced.setdefault((r.backend, default), []).append(label)
    for label, r in results.items():
        ran = normal_precision(r.details.get("precision"))
        for backend, default in forced:
            if r.backend == backend and ran == default:
                ran_at.setdefault((backend, default), []).append(label)
    lines = []
    for (backend, default), labels in forced.items():
        timed = ran_at.get((backend, default))
        todo = (
            f"{', '.join(timed)} {'times' if len(timed) == 1 else 'time'} it"
            if timed
            else f"add -b {backend}:precision={default} to time it, with its accuracy"
        )
        lines.append(
            f"{', '.join(labels)} ran f32, but {backend} computes in {default} by default on this CPU (what its "
            f"own tools measure, e.g. OpenVINO's benchmark_app): {todo}"
        )
    return lines


def _with_relative(results: dict[str, VariantResult]) -> dict[str, VariantResult]:
    """Median and p99 relative to the fastest competing variant, for every measured non-control variant."""
    from dataclasses import replace

    best = {}
    for key in ("median", "p99"):
        vals = [getattr(r.latency, key) for r in results.values() if r.latency is not None and r.competes]
        best[key] = min(vals) if vals else None
    if not best["median"] or not best["p99"]:
        return results
    return {
        label: (
            replace(
                r,
                relative_to_fastest=Relative(r.latency.median / best["median"], r.latency.p99 / best["p99"]),
            )
            if r.latency is not None and not r.is_control
            else r
        )
        for label, r in results.items()
    }


def winners(results: dict[str, VariantResult]) -> dict[str, str]:
    """Winner key → winning label among competing variants, when at least 2 have a value.

    The keys and the metric each is judged by are `report_model.WINNER_METRICS`; the direction (lowest
    median, p99, cold start and RSS; highest throughput) is the metric's `better` in the registry.
    """
    out: dict[str, str] = {}
    for key, metric_key in WINNER_METRICS.items():
        m = metric(metric_key)
        best: tuple[float, str] | None = None
        n = 0
        for label, r in results.items():
            v = r.value(metric_key) if r.competes else None
            if v is None or not np.isfinite(v):
                continue
            n += 1
            if best is None or m.improves(v, best[0]):
                best = (v, label)
        if n >= 2 and best is not None:
            out[key] = best[1]
    return out


def report_event(event: Any, t0_ns: int) -> ReportEvent:
    """A RunEvent with its time relative to t=0."""
    return ReportEvent(
        t_s=(event.t_ns - t0_ns) / 1e9,
        t_ns=event.t_ns,
        kind=str(event.kind),
        backend=event.backend,
        message=event.message,
        data=dict(event.data or {}),
    )


def build_report(data: RunData, n_boot: int = 2000, analysis: bool = True, session: Any = None) -> Report:
    """The whole report: variants, winners, analysis (findings + fair comparison), warnings, events, …

    `session` (the session's path or metadata) is carried to the JSON as ``session``.
    """
    from infbench.analysis.session_analysis import analyze_session

    results = backend_results(data, n_boot=n_boot)
    plan, system = data.plan or {}, data.system or {}
    return Report(
        plan=plan,
        system=system,
        variants=results,
        winners=winners(results),
        analysis=analyze_session(data, results) if analysis else None,
        events=tuple(report_event(e, data.t0_ns) for e in data.events()),
        outcome=data.outcome(),
        t0_wall=data.t0_wall,
        duration_s=max(0, data.end_ns() - data.t0_ns) / 1e9,
        warnings=tuple(every_core_warning(plan, system, data.backend_infos())),
        notes=tuple(precision_notes(results)),
        wrapper_overhead=wrapper_overheads(data, results, n_boot),
        session=session,
    )
