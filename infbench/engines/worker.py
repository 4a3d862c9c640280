"""Child-process main loop of one engine: load, first inference, then timed turns on command.

Started by the host as ``python -m infbench.engines.worker FD`` (a fresh interpreter that imports only numpy,
its backend and infbench's engine code — never the parent's main module). It talks over a
`multiprocessing.connection.Connection` on the socket FD; the first message it receives is its spec.
Protocol (tuples; the first item names the message):

parent → child: ``("run", {"phase", "calls", "seconds"})`` one turn: run until every given target is met;
``("halt",)`` end the current turn at the next flush; ``("stop",)`` close and exit.

child → parent: ``("phase", name, t_ns)`` loading entered phase `name` (see `base.LOAD_PHASES`) at perf_counter_ns
`t_ns`; ``("loaded", {...})``, ``("first", {"first_inference_ms", "t_ns"})``,
``("output", ndarray)`` first output on input 0 (parity), ``("block", phase, start_ns, dur_ns, input_idx)``
— from an engine with call parts or tokens (`Engine.call_parts`, `Engine.emits_tokens`) a sixth item, a dict:
part name → int64[n] ns, ``tokens`` int64[m] step stamps (flat), ``token_counts`` int32[n] stamps per call —,
``("gc", [(t_ns, dur_ns, generation), ...])``,
``("done", {"phase", "count", "busy_ns", "wall_ns", "t_begin_ns", "t_end_ns"})`` (the turn's perf_counter_ns
span: every call of the turn starts and ends inside it), ``("error", stage, message)`` then exit.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import traceback
from typing import Any

import numpy as np

FLUSH_NS = 50_000_000  # ship a block about every 50 ms
MAX_BLOCK = 200_000  # and never more calls than this in one block
GC_REPORT_NS = 200_000  # GC pauses shorter than 0.2 ms are not reported


def main(argv: list[str]) -> None:
    """Child entry point: ``python -m infbench.engines.worker FD``."""
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    conn = Connection(int(argv[1]))
    try:
        msg = conn.recv()
        spec = msg[1]
    except (EOFError, OSError):
        return
    worker_main(conn, spec)


def worker_main(conn: Any, spec: dict[str, Any]) -> None:
    """Load the engine described by `spec` (backend, options, model, inputs) and serve commands on `conn`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    stage = "import"
    try:
        _send_phase(conn, "import")
        from infbench.engines.base import EngineLoadError
        from infbench.engines.registry import engine_info, load_engine_class
        from infbench.errors import InfbenchError

        engine_cls = load_engine_class(spec["backend"])
        info = engine_info(spec["backend"])
        engine_cls.import_backend()
        engine = engine_cls()
        engine.phase_hook = lambda name: _send_phase(conn, name)
        stage = "load"
        t = time.perf_counter_ns()
        try:
            # Validated in the parent already; resolving again types values given through the Python API and
            # fills the declared defaults.
            options = info.options.resolve(info.name, dict(spec.get("options") or {}))
            engine.workload_inputs = list(spec.get("inputs") or [])
            engine.workload = dict(spec.get("workload") or {})
            result = engine.load(spec["model"], options)
        except (EngineLoadError, InfbenchError) as exc:
            conn.send(("error", stage, str(exc)))
            return
        load_ns = time.perf_counter_ns() - t
        conn.send(
            (
                "loaded",
                {
                    "load_ms": load_ns / 1e6,
                    "providers": list(result.providers),
                    "degraded": list(result.degraded),
                    "versions": dict(result.versions),
                    "details": dict(result.details),
                    "pid": os.getpid(),
                },
            )
        )
        stage = "prepare inputs"
        _send_phase(conn, "first inference")
        prepared = engine.prepare_all(list(spec["inputs"]))
        stage = "first inference"
        t = time.perf_counter_ns()
        out = engine.run(prepared[0])
        first_ns = time.perf_counter_ns() - t
        conn.send(("first", {"first_inference_ms": first_ns / 1e6, "t_ns": t}))
        conn.send(("output", np.ascontiguousarray(engine.first_output(out), dtype=np.float32)))
        parts, tokens = tuple(engine.call_parts()), bool(engine.emits_tokens())
        if {"tokens", "token_counts"} & set(parts) or len(set(parts)) != len(parts):
            raise ValueError(f"call_parts() {parts}: names must be distinct, not 'tokens' or 'token_counts'")
        if parts:
            engine.take_parts()  # drop the first inference's parts: blocks carry timed calls only
        if tokens:
            engine.take_tokens()
        stage = "run"
        _serve(conn, engine, prepared)
        engine.close()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return  # parent went away or stopped us: nothing to report to
    except BaseException as exc:
        try:
            last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            where = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
            conn.send(("error", stage, f"{type(exc).__name__}: {exc}{where}"))
        except (OSError, EOFError):
            pass


def _send_phase(conn: Any, name: str) -> None:
    """Tell the parent that loading entered phase `name`, now."""
    conn.send(("phase", name, time.perf_counter_ns()))


class _GcWatch:
    """Records garbage-collection pauses in this process (attribution uses them)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, int, int]] = []
        self._start = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self._start = now
        elif self._start and now - self._start >= GC_REPORT_NS:
            self.pauses.append((self._start, now - self._start, int(info.get("generation", -1))))

    def take(self) -> list[tuple[int, int, int]]:
        """Pauses since the last call."""
        out, self.pauses = self.pauses, []
        return out


def _serve(conn: Any, engine: Any, prepared: list[Any]) -> None:
    """Answer commands until ``stop``.

    Engines without call parts or tokens run `_turn` (the bare hot loop, whose overhead is benchmarked);
    the others `_turn_rich`, which also collects them after each call's end stamp.
    """
    parts, tokens = tuple(engine.call_parts()), bool(engine.emits_tokens())
    watch = _GcWatch()
    gc.callbacks.append(watch)
    next_idx = 0
    while True:
        msg = conn.recv()
        if msg[0] == "stop":
            return
        if msg[0] == "halt":
            continue  # a halt that arrived between turns
        if msg[0] == "run":
            args = msg[1]
            t_begin = time.perf_counter_ns()
            if parts or tokens:
                next_idx, count, busy = _turn_rich(
                    conn, engine, parts, tokens, prepared, next_idx, args, watch
                )
            else:
                next_idx, count, busy = _turn(conn, engine.run, prepared, next_idx, args, watch)
            t_end = time.perf_counter_ns()
            conn.send(
                (
                    "done",
                    {
                        "phase": args["phase"],
                        "count": count,
                        "busy_ns": busy,
                        "wall_ns": t_end - t_begin,
                        "t_begin_ns": t_begin,
                        "t_end_ns": t_end,
                    },
                )
            )


def _turn(
    conn: Any, run: Any, prepared: list[Any], idx: int, args: dict[str, Any], watch: _GcWatch
) -> tuple[int, int, int]:
    """One turn of the timed loop. Returns (next input index, calls made, busy ns)."""
    phase: str = args["phase"]
    calls: int | None = args.get("calls")
    seconds: float | None = args.get("seconds")
    pc = time.perf_counter_ns
    n_inputs = len(prepared)
    total = 0
    busy = 0
    t_begin = pc()
    deadline = t_begin + int(seconds * 1e9) if seconds else None
    while True:
        remaining = (calls - total) if calls is not None else MAX_BLOCK
        cap = min(MAX_BLOCK, remaining) if deadline is None else MAX_BLOCK
        if cap <= 0 and deadline is None:
            break
        starts: list[int] = []
        ends: list[int] = []
        sa, ea = starts.append, ends.append
        first_idx = idx
        next_flush = pc() + FLUSH_NS
        # The hot loop: nothing but the call sits between the two clock reads.
        while True:
            x = prepared[idx]
            s = pc()
            run(x)
            e = pc()
            sa(s)
            ea(e)
            idx += 1
            if idx == n_inputs:
                idx = 0
            if e >= next_flush or len(starts) >= cap:
                break
        n, block_busy, halted = _ship(conn, watch, phase, starts, ends, first_idx, n_inputs, None)
        total += n
        busy += block_busy
        if halted:
            break
        time_met = deadline is None or ends[-1] >= deadline
        calls_met = calls is None or total >= calls
        if time_met and calls_met:
            break
    return idx, total, busy


def _turn_rich(
    conn: Any,
    engine: Any,
    parts: tuple[str, ...],
    tokens: bool,
    prepared: list[Any],
    idx: int,
    args: dict[str, Any],
    watch: _GcWatch,
) -> tuple[int, int, int]:
    """`_turn` for engines with call parts and/or token stamps: each call's are taken after its end stamp and
    shipped in the block's sixth item. Returns (next input index, calls made, busy ns)."""
    phase: str = args["phase"]
    calls: int | None = args.get("calls")
    seconds: float | None = args.get("seconds")
    pc = time.perf_counter_ns
    run = engine.run
    take_parts = engine.take_parts if parts else None
    take_tokens = engine.take_tokens if tokens else None
    n_inputs = len(prepared)
    total = 0
    busy = 0
    deadline = pc() + int(seconds * 1e9) if seconds else None
    while True:
        remaining = (calls - total) if calls is not None else MAX_BLOCK
        cap = min(MAX_BLOCK, remaining) if deadline is None else MAX_BLOCK
        if cap <= 0 and deadline is None:
            break
        starts: list[int] = []
        ends: list[int] = []
        part_rows: list[tuple[int, ...]] = []
        stamps: list[np.ndarray] = []
        first_idx = idx
        next_flush = pc() + FLUSH_NS
        while True:
            x = prepared[idx]
            s = pc()
            run(x)
            e = pc()
            starts.append(s)
            ends.append(e)
            if take_parts is not None:
                part_rows.append(tuple(take_parts()))
            if take_tokens is not None:
                stamps.append(np.asarray(take_tokens(), dtype=np.int64).ravel())
            idx += 1
            if idx == n_inputs:
                idx = 0
            if e >= next_flush or len(starts) >= cap:
                break
        extras = _extras(parts, part_rows, stamps if tokens else None)
        n, block_busy, halted = _ship(conn, watch, phase, starts, ends, first_idx, n_inputs, extras)
        total += n
        busy += block_busy
        if halted:
            break
        time_met = deadline is None or ends[-1] >= deadline
        calls_met = calls is None or total >= calls
        if time_met and calls_met:
            break
    return idx, total, busy


def _ship(
    conn: Any,
    watch: _GcWatch,
    phase: str,
    starts: list[int],
    ends: list[int],
    first_idx: int,
    n_inputs: int,
    extras: dict[str, np.ndarray] | None,
) -> tuple[int, int, bool]:
    """Send one block (with its extras, if any) and the GC pauses since the last; answer a halt or stop that
    arrived meanwhile. Returns (calls in the block, their busy ns, whether the turn must end now)."""
    s_arr = np.array(starts, dtype=np.int64)
    d_arr = np.array(ends, dtype=np.int64) - s_arr
    n = s_arr.shape[0]
    i_arr = ((first_idx + np.arange(n)) % n_inputs).astype(np.int32)
    block = (
        ("block", phase, s_arr, d_arr, i_arr)
        if extras is None
        else ("block", phase, s_arr, d_arr, i_arr, extras)
    )
    conn.send(block)
    pauses = watch.take()
    if pauses:
        conn.send(("gc", pauses))
    halted = False
    if conn.poll():
        msg = conn.recv()
        if msg[0] == "stop":
            raise EOFError  # leave at once; the parent is shutting us down
        halted = msg[0] == "halt"
    return n, int(d_arr.sum()), halted


def _extras(
    parts: tuple[str, ...], rows: list[tuple[int, ...]], stamps: list[np.ndarray] | None
) -> dict[str, np.ndarray]:
    """The block's sixth item: part name → int64[n], and ``tokens`` + ``token_counts`` when stamped."""
    out: dict[str, np.ndarray] = {}
    if parts:
        table = np.array(rows, dtype=np.int64)
        if table.ndim != 2 or table.shape[1] != len(parts):
            raise ValueError(f"take_parts() must return {len(parts)} durations {parts}, got {rows[-1]!r}")
        for k, name in enumerate(parts):
            out[name] = np.ascontiguousarray(table[:, k])
    if stamps is not None:
        out["token_counts"] = np.array([a.size for a in stamps], dtype=np.int32)
        out["tokens"] = np.concatenate(stamps) if stamps else np.empty(0, np.int64)
    return out


if __name__ == "__main__":
    main(sys.argv)
