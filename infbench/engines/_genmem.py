"""Resident memory around one generation: how much the KV cache (and the decode's buffers) makes a process grow.

Linux only (``/proc/self``): the peak RSS (``VmHWM``) is reset just before the call (``clear_refs`` 5), so the
growth is the call's own peak minus the RSS before it — a KV cache freed when `generate` returns still counts.
A warm-up call first (a one-token generation of the same prompt) pages in lazily mapped weights and allocates
the prefill's buffers, which would otherwise count as growth (on gpt2-small, torch's first call alone pages in
~500 MB of weights). Elsewhere nothing is reported.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_STATUS = "/proc/self/status"


def _status_kb(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``), None when unreadable."""
    try:
        with open(_STATUS) as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError) as exc:
        log.debug("reading %s from %s: %s", field, _STATUS, exc)
    return None


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux ≥ 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError as exc:
        log.debug("cannot reset the peak RSS: %s", exc)
        return False


def rss_growth_mb(
    call: Callable[[], Any], warm: Callable[[], Any] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Run `call` once; its result and ``kv_rss_before_mb`` / ``kv_rss_peak_mb`` / ``kv_rss_growth_mb`` and
    ``kv_rss_measure`` (``peak``: the call's peak RSS; ``after``: the RSS after it, where the peak cannot be reset).

    `warm`, when given, runs first, outside the measurement. The dict is empty where the process's RSS cannot be
    read (not Linux).
    """
    if warm is not None:
        warm()
    before = _status_kb("VmRSS")
    peak_reset = before is not None and _reset_peak()
    result = call()
    if before is None:
        return result, {}
    peak = _status_kb("VmHWM") if peak_reset else None
    after = _status_kb("VmRSS")
    top = max(v for v in (peak, after, before) if v is not None)
    return result, {
        "kv_rss_before_mb": round(before / 1024, 1),
        "kv_rss_peak_mb": round(top / 1024, 1),
        "kv_rss_growth_mb": round((top - before) / 1024, 1),
        "kv_rss_measure": "peak" if peak is not None else "after",
    }


def kv_cache_mb(hf_dir: str, batch: int, tokens: int, dtype_bytes: int = 4) -> float | None:
    """The KV cache a generation of `tokens` positions (prompt + new) holds at its end, in MB, from the
    model's config.json: layers × 2 (keys, values) × batch × tokens × key/value width × `dtype_bytes`.

    None when the config does not name layers and hidden size in a way this understands.
    """
    try:
        with open(os.path.join(hf_dir, "config.json")) as fh:
            cfg = json.load(fh)
        layers = int(cfg.get("num_hidden_layers", cfg.get("n_layer")))
        hidden = int(cfg.get("hidden_size", cfg.get("n_embd")))
        heads = int(cfg.get("num_attention_heads", cfg.get("n_head")))
        kv_heads = int(cfg.get("num_key_value_heads") or heads)
    except (OSError, ValueError, TypeError) as exc:
        log.debug("no KV cache size for %s: %s", hf_dir, exc)
        return None
    width = hidden // heads * kv_heads
    return round(layers * 2 * batch * tokens * width * dtype_bytes / 1e6, 2)
