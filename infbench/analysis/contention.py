"""Whether a variant uses every core, and so competes with infbench's own UI, monitors and the OS.

A backend left at its default thread count (ORT, OpenVINO and PyTorch all default to every core), or given
as many threads as the machine has logical cores, has no core to spare: the live view, the monitors and the
OS's own work then preempt its threads, and its latency swings between runs far more than at fewer threads
(BENCHMARKS.md: bare at every core moved 7–10 ms between rounds, ≈ 0 at 1 thread). The run says so before
loading and the report lists it.

The effective count is read from what the engine reported after loading (its load details), when it did;
before loading, or when it did not, an unset thread option means the backend's default: every core. Which
option sets the threads is the engine's declaration (`EngineInfo.thread_option`); an engine without one
(the control, a sleeping test engine) is not checked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from infbench.errors import BackendUnavailable
from infbench.vocab import Role

log = logging.getLogger(__name__)

THREAD_OPTION = "threads"  # the usual thread option, assumed for an engine this installation does not know
# Keys under which engines report their effective intra-op threads after loading; 0 means "the default".
DETAIL_THREAD_KEYS = ("threads", "intra_op_num_threads")


def logical_cores(system: Mapping[str, Any] | None) -> int | None:
    """Logical cores from the system fingerprint, else the cores this process may run on."""
    for key in ("logical_cores", "cores"):
        value = (system or {}).get(key)
        if isinstance(value, int) and value > 0:
            return value
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def thread_option(backend: str) -> str | None:
    """The option that sets engine `backend`'s intra-op threads (None: it has none); `THREAD_OPTION` for an
    engine this installation does not know (a session recorded with a plugin)."""
    from infbench.engines.registry import engine_info

    try:
        return engine_info(backend).thread_option
    except BackendUnavailable as exc:
        log.debug("every-core check of %s assumes option %r: %s", backend, THREAD_OPTION, exc)
        return THREAD_OPTION


def effective_threads(
    options: Mapping[str, Any], details: Mapping[str, Any] | None, cores: int, option: str = THREAD_OPTION
) -> int:
    """Intra-op threads a variant runs with: reported after load when known, else its `option`; 0 or unset
    means the backend's default, every core."""
    for key in DETAIL_THREAD_KEYS:
        reported = _int_or_none((details or {}).get(key))
        if reported is not None:
            return reported if reported > 0 else cores
    asked = _int_or_none(options.get(option))
    return asked if asked is not None and asked > 0 else cores


def every_core_variants(
    plan: Mapping[str, Any], system: Mapping[str, Any] | None, infos: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """label → why it uses every core (``threads unset: the backend's default``, ``threads=4``), for the
    plan's variants that are not controls and use at least as many threads as there are logical cores."""
    cores = logical_cores(system)
    if not cores:
        log.debug("core count unknown: no every-core check")
        return {}
    out: dict[str, str] = {}
    for spec in plan.get("backends") or []:
        label = spec.get("label") or spec.get("backend") or "?"
        info = (infos or {}).get(label)
        roles = list(spec.get("roles") or []) + list(getattr(info, "roles", None) or [])
        option = thread_option(str(spec.get("backend")))
        if Role.CONTROL in roles or option is None:
            continue
        options = dict(spec.get("options") or {})
        details = getattr(info, "details", None)  # the engine's load details, where the info carries them
        if effective_threads(options, details, cores, option) < cores:
            continue
        asked = _int_or_none(options.get(option))
        out[label] = f"{option}={asked}" if asked else f"{option} unset: the backend's default"
    return out


def every_core_warning(
    plan: Mapping[str, Any], system: Mapping[str, Any] | None, infos: Mapping[str, Any] | None = None
) -> list[str]:
    """One line when any variant uses every core (see `every_core_variants`), else none."""
    found = every_core_variants(plan, system, infos)
    if not found:
        return []
    cores = logical_cores(system)
    who = ", ".join(f"{label} ({why})" for label, why in found.items())
    advice = f" — pass --threads N with N < {cores} for steadier numbers" if cores and cores > 1 else ""
    return [
        f"every core in use: {who} on {cores} logical core{'s' if cores != 1 else ''}; infbench's UI, monitors "
        f"and the OS now compete with {'it' if len(found) == 1 else 'them'}, so latency swings more between "
        f"runs{advice}"
    ]
