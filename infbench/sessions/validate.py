"""Checks for values read from untrusted session files: coerce to the expected types or raise ValueError."""

from __future__ import annotations

import math
from typing import Any

from infbench.records import BackendInfo, RunEvent

OUTCOMES = ("complete", "interrupted", "failed")
_FLOATS = ("load_ms", "first_inference_ms", "rss_after_load_mb", "rss_peak_mb", "model_size_mb")


def as_dict(v: Any) -> dict[str, Any]:
    """`v` when it is a dict with string keys, else {}."""
    return v if isinstance(v, dict) and all(isinstance(k, str) for k in v) else {}


def as_int(v: Any, what: str) -> int:
    """An int (bool rejected) or TypeError."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what} is not an integer")
    return v


def as_float(v: Any, what: str) -> float:
    """A finite number as float or ValueError."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ValueError(f"{what} is not a number")
    return float(v)


def _opt_float(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _str_list(v: Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, list) else []


def clean_info(d: Any, label: str) -> BackendInfo:
    """A BackendInfo from a JSON dict of unknown quality; wrong-typed fields become defaults."""
    d = as_dict(d)
    err = d.get("error")
    pid = d.get("pid")
    info = BackendInfo(
        label=label,
        backend=str(d.get("backend") or label),
        options=as_dict(d.get("options")),
        status=str(d.get("status") or "pending"),
        error=None if err is None else str(err),
        degraded_reasons=_str_list(d.get("degraded_reasons")),
        providers=_str_list(d.get("providers")),
        versions={k: str(v) for k, v in as_dict(d.get("versions")).items()},
        details=as_dict(d.get("details")),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        parity=clean_parity(d.get("parity")),
        roles=_str_list(d.get("roles")),
        twin_of=None if d.get("twin_of") is None else str(d.get("twin_of")),
    )
    for key in _FLOATS:
        setattr(info, key, _opt_float(d.get(key)))
    return info


def attach_roles(infos: dict[str, BackendInfo], plan: dict[str, Any]) -> dict[str, BackendInfo]:
    """Give every info the roles and `twin_of` its variant has in `plan` (derived for a legacy plan, see
    `plan.spec.migrate_plan_dict`); a label only seen in the data gets its engine's roles. In place; returns
    `infos`."""
    from infbench.plan.spec import legacy_roles, plan_roles

    by_label = plan_roles(plan)
    for label, info in infos.items():
        if label in by_label:
            roles, twin_of = by_label[label]
        else:
            derived = legacy_roles(info.backend, label, set(infos))
            roles, twin_of = derived["roles"], derived["twin_of"]
        info.roles = [*roles, *(r for r in info.roles if r not in roles)]
        info.twin_of = info.twin_of or twin_of
    return infos


def clean_parity(p: Any) -> dict[str, Any] | None:
    """Parity dict with numeric max_abs/cosine (or None) and a string reference, or None."""
    if not isinstance(p, dict):
        return None
    out = dict(as_dict(p))
    for k in ("max_abs", "cosine"):
        if k in out:
            out[k] = _opt_float(out[k])
    if out.get("reference") is not None:
        out["reference"] = str(out["reference"])
    return out


def clean_event(t_ns: Any, kind: Any, backend: Any, message: Any, data: Any) -> RunEvent:
    """A RunEvent from a row, or ValueError."""
    return RunEvent(
        as_int(t_ns, "event time"),
        str(kind),
        str(message),
        None if backend is None else str(backend),
        as_dict(data),
    )


def clean_outcome(v: Any) -> str | None:
    """One of OUTCOMES, or None."""
    return v if v in OUTCOMES else None
