"""The results of a run, as the headless `--json` and `report` show them: built only from `RunData`.

Used for a live run (from the `LiveStore`) and for a recorded session (from the `SessionReader`), so both
give the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infbench.analysis.stats import summarize
from infbench.analysis.turns import calls_of
from infbench.records import PHASE_MEASURE, PHASE_WARMUP
from infbench.sessions.data import RunData

# metric → (how to read it from one backend's results, True when higher is better)
WINNER_METRICS: dict[str, tuple[Any, bool]] = {
    "median": (lambda r: (r.get("latency_ms") or {}).get("median"), False),
    "p99": (lambda r: (r.get("latency_ms") or {}).get("p99"), False),
    "throughput": (lambda r: r.get("throughput_per_s"), True),
    "cold_start": (lambda r: _cold_total(r), False),
    "rss": (
        lambda r: (
            (r.get("memory_mb") or {}).get("rss_peak") or (r.get("memory_mb") or {}).get("rss_after_load")
        ),
        False,
    ),
}


def _cold_total(r: dict) -> float | None:
    cs = r.get("cold_start") or {}
    if cs.get("load_ms") is None and cs.get("first_inference_ms") is None:
        return None
    return (cs.get("load_ms") or 0.0) + (cs.get("first_inference_ms") or 0.0)


def tokens_per_call(plan: dict[str, Any]) -> tuple[int | None, bool]:
    """(tokens per call, approximate?) from the plan's workload: batch × seq.

    With a sequence-length distribution the true count varies per input; batch × seq (the maximum) is then
    returned with approximate=True.
    """
    wl = plan.get("workload") or {}
    try:
        batch, seq = int(wl.get("batch", 1)), int(wl.get("seq", 0))
    except (TypeError, ValueError):
        return None, False
    if seq <= 0:
        return None, False
    return batch * seq, bool(wl.get("seq_dist"))


STOPPED = "stopped"  # stopped with x in the live TUI: its statistics cover the calls made until then
NOT_STARTED = "not started"  # never measured: the run ended (interrupted, or before its turn) first
USER_STOP = "stopped by the user"  # the runner's event message for a backend stopped with x


def stopped_by_user(data: RunData) -> set[str]:
    """Labels the user stopped during the run (the runner's ``… stopped by the user`` status events)."""
    return {e.backend for e in data.events() if e.kind == "status" and e.backend and USER_STOP in e.message}


def _status(
    info: Any, has_samples: bool, user_stopped: bool = False, outcome: str | None = "complete"
) -> tuple[str, str | None]:
    """(status, reason) of one backend for the report: ok, degraded, failed, stopped or not started.

    A backend the user stopped is ``stopped`` (with or without samples). One without samples that did not
    fail was never measured: ``not started``, because the run was interrupted, or ended before its turn.
    """
    if info.status == "failed":
        return "failed", info.error or "failed"
    if user_stopped:
        when = "after its measured calls" if has_samples else "before it was measured"
        return STOPPED, info.error or f"{USER_STOP} (x in the live TUI) {when}"
    if not has_samples:
        if outcome == "interrupted":
            return NOT_STARTED, "run interrupted before it was measured"
        if info.status in ("done", "ok", "degraded"):  # finished without a measured call: something is wrong
            return "failed", info.error or "no measured samples"
        return NOT_STARTED, info.error or (
            "run ended before it was measured"
            if outcome
            else "the recording was cut off before it was measured"
        )
    if info.status == "stopped":  # measured, then stopped though not by the user (older sessions)
        return STOPPED, info.error or "stopped before the end of the run"
    if info.degraded_reasons or info.status == "degraded":
        return "degraded", info.error or "; ".join(info.degraded_reasons) or "degraded"
    return "ok", info.error


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


def backend_results(data: RunData, n_boot: int = 2000) -> dict[str, dict[str, Any]]:
    """Per-backend results (the ``backends`` object of the headless JSON), over ``measure`` samples only."""
    plan = data.plan or {}
    wl = plan.get("workload") or {}
    try:
        batch = max(1, int(wl.get("batch", 1)))
    except (TypeError, ValueError):
        batch = 1
    tpc, approx = tokens_per_call(plan)
    user_stopped, outcome = stopped_by_user(data), data.outcome()
    out: dict[str, dict[str, Any]] = {}
    for label, info in data.backend_infos().items():
        calls, _source = calls_of(data, label, PHASE_MEASURE)
        dur = calls.dur
        own_batch = _int(info.options.get("batch"), batch)  # a sweep may run backends at their own batch
        _, wdur = data.samples(label, phase=PHASE_WARMUP)
        status, error = _status(info, dur.size > 0, label in user_stopped, outcome)
        res: dict[str, Any] = {
            "backend": info.backend,
            "status": status,
            "error": error,
            "degraded_reasons": list(info.degraded_reasons),
            "latency_ms": None,
            "throughput_per_s": None,
            "samples_per_s": None,
            "tokens_per_s": None,
            "tokens_per_s_approximate": approx,
            "cold_start": {"load_ms": info.load_ms, "first_inference_ms": info.first_inference_ms},
            "memory_mb": {"rss_after_load": info.rss_after_load_mb, "rss_peak": info.rss_peak_mb},
            "model_size_mb": info.model_size_mb,
            "parity": info.parity,
            "providers": list(info.providers),
            "options": dict(info.options),
            "iterations": int(dur.size),
            "calls_made": _calls_made(
                data, label, int(dur.size)
            ),  # > iterations when the null control is thinned
            "warmup_iterations": int(wdur.size),
            "relative_to_fastest": None,
        }
        if dur.size:
            st = summarize(dur, batch=own_batch, n_boot=n_boot, turns=calls.turn)
            res["latency_ms"] = st.latency_dict()
            res["throughput_per_s"] = st.throughput_per_s
            res["samples_per_s"] = st.samples_per_s
            if tpc is not None:
                res["tokens_per_s"] = st.throughput_per_s * tpc * own_batch / batch
        out[label] = res
    _add_relative(out)
    return out


CONTROL_BACKENDS = {"null"}  # harness controls: shown, but never "fastest" and never a winner


def _competes(r: dict[str, Any], label: str = "") -> bool:
    """Whether a backend competes for "fastest"/winner: measured, not a control, not an A/A twin."""
    return (
        r.get("status") not in ("failed", NOT_STARTED)
        and r.get("backend") not in CONTROL_BACKENDS
        and not label.endswith("#aa")
    )


def _add_relative(results: dict[str, dict[str, Any]]) -> None:
    for key in ("median", "p99"):
        vals = [r["latency_ms"][key] for lab, r in results.items() if r["latency_ms"] and _competes(r, lab)]
        best = min(vals) if vals else None
        for r in results.values():
            if r["latency_ms"] is None or not best or r.get("backend") in CONTROL_BACKENDS:
                continue
            rel = r["relative_to_fastest"] = r["relative_to_fastest"] or {}
            rel[key] = r["latency_ms"][key] / best


def winners(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Metric → winning label among competing backends (not failed, not the null control), when >= 2 have a value.

    Lowest median, p99, cold start (load + first inference) and peak RSS; highest throughput.
    """
    out: dict[str, str] = {}
    for metric, (get, higher) in WINNER_METRICS.items():
        cands = []
        for label, r in results.items():
            if not _competes(r, label):
                continue
            v = get(r)
            if isinstance(v, (int, float)) and np.isfinite(v):
                cands.append((v, label))
        if len(cands) >= 2:
            out[metric] = (max if higher else min)(cands, key=lambda c: c[0])[1]
    return out


def event_dict(event: Any, t0_ns: int) -> dict[str, Any]:
    """A RunEvent as a JSON-ready dict with ``t_s`` relative to t=0."""
    return {
        "t_s": (event.t_ns - t0_ns) / 1e9,
        "t_ns": event.t_ns,
        "kind": event.kind,
        "backend": event.backend,
        "message": event.message,
        "data": event.data,
    }


def build_report(data: RunData, n_boot: int = 2000, analysis: bool = True) -> dict[str, Any]:
    """The whole report: backends, winners, analysis (findings + fair comparison), plan, system, events, …"""
    from infbench.analysis.session_analysis import analyze_session

    results = backend_results(data, n_boot=n_boot)
    return {
        "backends": results,
        "winners": winners(results),
        "analysis": analyze_session(data, results) if analysis else None,
        "plan": data.plan,
        "system": data.system,
        "events": [event_dict(e, data.t0_ns) for e in data.events()],
        "outcome": data.outcome(),
        "t0_wall": data.t0_wall,
        "duration_s": max(0, data.end_ns() - data.t0_ns) / 1e9,
    }
