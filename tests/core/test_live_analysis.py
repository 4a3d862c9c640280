"""Live slowdown detection: generated runs with planted slowdowns, and real runs under a CPU hog or a CPU quota."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from infbench.analysis.findings import backend_analysis
from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.run.live_analysis import LiveAnalyzer
from infbench.sessions.store import LiveStore
from infbench.testing.streams import Slowdown, StreamSpec, generate

T0 = 1_000_000_000_000  # where the generator puts t=0


class _Replay:
    """Collects what the generator produces, then replays it into a store in time order while the live
    analyzer runs a pass every second of run time — as the live thread does during a run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def __getattr__(self, name: str):
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))

    @staticmethod
    def _t(name: str, args: tuple) -> int:
        if name == "on_samples":
            return int(args[0].start_ns[-1] + args[0].dur_ns[-1])
        if name == "on_turn":
            return args[0].end_ns
        if name == "on_monitor":
            return args[0][0].t_ns
        return {"on_start": 0, "on_finish": 1 << 62}.get(name, 0)

    def run(self, store: LiveStore, analyzer: LiveAnalyzer) -> None:
        """Replay into `store`, stepping `analyzer` once per second of run time and finally at the end."""
        next_step = None
        for t, _, name, args in sorted((self._t(n, a), i, n, a) for i, (n, a) in enumerate(self.calls)):
            if name == "on_finish":
                analyzer.step(final=True)
            getattr(store, name)(*args)
            if name == "on_start":
                analyzer.t0_ns, analyzer._labels = store.t0_ns, ["ort"]
                next_step = store.t0_ns + 1_000_000_000
            while next_step is not None and name != "on_finish" and t >= next_step:
                analyzer.step()
                next_step += 1_000_000_000


@pytest.mark.parametrize("phase_s", [0.0, 0.5, 1.0, 1.5])
@pytest.mark.parametrize(
    ("face", "cause", "verdict"), [("slow", "contention", "contention"), ("quota", "cgroup", "cpu-quota")]
)
def test_planted_slowdown_is_found_once_live_with_its_cause_at_every_sampler_phase(
    phase_s, face, cause, verdict
):
    # Monitors at their real rates and stamping (others every 2 s, stamped at the end of its interval),
    # the tick grid shifted by `phase_s`: the cause is found whatever the sampler's phase.
    spec = StreamSpec(
        call_ms=10,
        duration_s=45,
        seed=int(phase_s * 4),
        sampler_phase_s=phase_s,
        slowdowns=(Slowdown(20.0, 23.0, 2.0, face, cause),),
    )
    replay, store, found = _Replay(), LiveStore(), []
    generate(spec, replay)
    replay.run(store, LiveAnalyzer(store, found.append))
    slowdowns = [e for e in found if e.kind in ("spike", "step", "drift")]
    assert len(slowdowns) == 1, [e.message for e in found]
    ev = slowdowns[0]
    assert T0 + 19.5e9 <= ev.t_ns <= T0 + 21e9 and ev.data["t_end_ns"] <= T0 + 24.5e9
    assert ev.data["attribution"]["verdict"] == verdict, ev.message
    assert ev.data["faces"]["throughput"] > 1.5 and "lost" in ev.message
    if face == "slow":
        assert "burn" in ev.message


def test_live_events_match_the_report():
    spec = StreamSpec(
        call_ms=40,
        duration_s=60,
        seed=5,
        slowdowns=(Slowdown(20, 26, 2.0, "quota", "cgroup"), Slowdown(40, 44, 1.6)),
    )
    replay, store, found = _Replay(), LiveStore(), []
    generate(spec, replay)
    replay.run(store, LiveAnalyzer(store, found.append))
    report = backend_analysis(store, "ort", None)
    live = [(e.kind, e.t_ns, e.data["t_end_ns"], round(e.data["ratio"], 6)) for e in found]
    offline = [
        (d.kind, d.fields["t_start_ns"], d.fields["t_end_ns"], round(d.ratio, 6))
        for d in report.spikes + report.shifts
    ]
    assert len(live) == 2 and sorted(live) == sorted(offline)


def test_a_sustained_throttle_is_one_event_said_while_it_lasts():
    spec = StreamSpec(
        call_ms=10, duration_s=70, seed=6, slowdowns=(Slowdown(20, 100, 1.3, "quota", "cgroup"),)
    )
    replay, store, found = _Replay(), LiveStore(), []
    generate(spec, replay)
    replay.run(store, LiveAnalyzer(store, lambda e: found.append((store.end_ns(), e))))
    ((said_at, ev),) = found
    assert ev.kind == "step" and ev.data["attribution"]["verdict"] == "cpu-quota"
    assert T0 + 19.5e9 <= ev.t_ns <= T0 + 21e9 and said_at <= T0 + 35e9  # said during the run, not at its end


def test_too_few_calls_is_said_live():
    spec = StreamSpec(call_ms=1000, duration_s=10, warmup_calls=1, seed=2)
    replay, store, found = _Replay(), LiveStore(), []
    generate(spec, replay)
    replay.run(store, LiveAnalyzer(store, found.append))
    (ev,) = found
    assert ev.kind == "detection" and ev.data["calls"] < 12
    assert ev.message == f"ort: slowdown detection needs ≥ 12 measured calls; have {ev.data['calls']}"
    assert not ev.data["active"]


def _slowdowns(rec) -> list[tuple[int, int, str, dict]]:
    """(start, end, text, attribution) of every slowdown episode: live events and the report's findings."""
    from infbench.analysis.session_analysis import analyze_session
    from infbench.analysis.summary import backend_results

    found = [
        (e.t_ns, e.data["t_end_ns"], e.message, e.data["attribution"])
        for e in rec.store.events()
        if e.kind in ("spike", "step", "drift")
    ]
    per = analyze_session(rec.store, backend_results(rec.store, n_boot=100)).findings
    for label, a in per.items():
        found += [
            (
                f.fields["t_start_ns"],
                f.fields["t_end_ns"],
                f"report {label}: {f.headline}",
                dict(f.attribution or {}),
            )
            for f in a.spikes + a.shifts
        ]
    return found


def _run_with(plan: RunPlan, path, at_s: float, hold_s: float, start_fn, stop_fn) -> tuple[object, int, int]:
    from infbench.run.recorded_run import RecordedRun

    rec = RecordedRun(plan, path)
    rec.prepare()
    rec.start()
    window: list[int] = []

    def disturb() -> None:
        window.append(time.perf_counter_ns())
        start_fn()
        time.sleep(hold_s)
        stop_fn()
        window.append(time.perf_counter_ns())

    timer = threading.Timer(at_s, disturb)
    timer.start()
    try:
        assert rec.wait(plan.duration_s + 120)
    finally:
        timer.cancel()
        stop_fn()
    rec.finish()
    assert len(window) == 2
    return rec, window[0], window[1]


def _inside_only(found, start: int, end: int, verdict: str, who: str | None) -> None:
    """At least one slowdown inside the disturbance, attributed to `verdict`; none outside it."""
    lead, lag = 1_000_000_000, 2_500_000_000  # a slow call begun before the hog ends after it
    inside = [f for f in found if f[0] <= end + lag and f[1] >= start - lead]
    outside = [f[2] for f in found if f not in inside]
    assert inside, [f[2] for f in found]
    assert not outside, outside
    named = [f for f in inside if f[3].get("verdict") == verdict]
    assert named, [(f[2], f[3].get("verdict")) for f in inside]
    if who:
        assert any(who in " ".join(f[3].get("evidence") or []) for f in named), named


# ~10 ms, ~160 ms and ~1 s per call: bert-small on ONNX Runtime, 2 threads, batch 1 / 8 / 48; the hog (4
# `yes` burners on the 2 cores) starts once detection has its baseline (10 calls to size the blocks, 12 blocks).
HOG_CASES = [
    pytest.param(1, 20, 9.0, 5.0, id="10ms"),
    pytest.param(8, 32, 12.0, 8.0, id="160ms"),
    pytest.param(48, 45, 22.0, 9.0, id="1s"),
]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yes") is None, reason="needs the `yes` program as a CPU burner")
# Real engines vs real CPU load on a shared 2-core VM: one retry, same assertions
@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize(("batch", "duration", "at_s", "hold_s"), HOG_CASES)
def test_real_run_slowdown_under_a_cpu_hog_is_found_inside_its_window_only(
    tmp_path, batch, duration, at_s, hold_s
):
    plan = RunPlan(
        model="bert-small",
        backends=(BackendSpec("onnxruntime", "onnxruntime", {"threads": 2}),),
        workload=WorkloadSpec(seq=128, batch=batch),
        duration_s=duration,
        iterations=10,
        warmup_iterations=2,
    )
    burners: list[int] = []

    def start() -> None:
        # A noisy neighbour is not our child: detach the burners (sh exits, `yes` is re-parented).
        out = subprocess.run(
            ["sh", "-c", "for i in 1 2 3 4; do yes >/dev/null 2>&1 & echo $!; done"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        burners.extend(int(x) for x in out.split())

    rec, t_on, t_off = _run_with(plan, tmp_path / "hog.infb", at_s, hold_s, start, lambda: _kill(burners))
    _inside_only(_slowdowns(rec), t_on, t_off, "contention", "yes")


CGROUP_CPU = "/sys/fs/cgroup/cpu"


def _cgroup_usable() -> str | None:
    if not os.path.isfile(os.path.join(CGROUP_CPU, "cgroup.procs")) or os.geteuid() != 0:
        return "needs root and a cgroup v1 cpu controller at /sys/fs/cgroup/cpu"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_cgroup_usable() is not None, reason=str(_cgroup_usable()))
@pytest.mark.flaky(reruns=1)
def test_real_cgroup_quota_throttling_is_found_and_attributed(tmp_path):
    # The test process (and so infbench, its engine children and its monitors) joins a fresh cgroup whose CPU
    # quota is cut to 0.3 CPU for 8 s: the engine slows by throughput and tail, the monitor sees throttling.
    group = os.path.join(CGROUP_CPU, f"infbench-test-{os.getpid()}")
    os.mkdir(group)
    _write(os.path.join(group, "cgroup.procs"), str(os.getpid()))
    try:
        plan = RunPlan(
            model="bert-small",
            backends=(BackendSpec("onnxruntime", "onnxruntime", {"threads": 1}),),
            workload=WorkloadSpec(seq=128),
            duration_s=30,
            iterations=10,
        )
        quota = os.path.join(group, "cpu.cfs_quota_us")
        rec, t_on, t_off = _run_with(
            plan,
            tmp_path / "quota.infb",
            12.0,
            8.0,
            lambda: _write(quota, "30000"),
            lambda: _write(quota, "-1"),
        )
        _inside_only(_slowdowns(rec), t_on, t_off, "cpu-quota", "quota")
    finally:
        _write(os.path.join(group, "cpu.cfs_quota_us"), "-1")
        _write(os.path.join(CGROUP_CPU, "cgroup.procs"), str(os.getpid()))
        with open(os.path.join(group, "cgroup.procs")) as fh:
            left = fh.read().split()
        for pid in left:  # anything still in the group (an engine that outlived its run) leaves it
            _write(os.path.join(CGROUP_CPU, "cgroup.procs"), pid)
        os.rmdir(group)


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
