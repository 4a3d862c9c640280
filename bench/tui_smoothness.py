"""TUI smoothness with real engines: screen refreshes per second and key response while engines run flat out.

Runs the live app headless (`App.run_test`) on bert-tiny with onnxruntime, openvino, torch and the `null`
engine (millions of calls/s), counts composed frames (every `App._display` call with a frame: the compositor
has rendered it; only the terminal write is skipped headless) and times keys from posting the key event to the
first frame that shows its effect. Writes bench/results/tui.md.

    .venv/bin/python bench/tui_smoothness.py [--schedule concurrent|interleaved] [--seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from textual import events

from infbench.plan.spec import BackendSpec, RunPlan, WorkloadSpec
from infbench.tui.app import InfbenchApp
from infbench.tui.screens.help import HelpScreen
from infbench.tui.screens.live import LiveScreen

OUT = Path(__file__).parent / "results" / "tui.md"


class CountingApp(InfbenchApp):
    """InfbenchApp that timestamps every composed frame."""

    frames: list[float]

    def _display(self, screen, renderable) -> None:  # type: ignore[override]
        if renderable is not None and not self._batch_count:
            self.frames.append(time.perf_counter())
        super()._display(screen, renderable)


async def _until(cond, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.002)


async def _key(app: CountingApp, key: str, char: str | None, done) -> float:
    """Seconds from posting `key` until a frame composed after `done()` became true."""
    t0 = time.perf_counter()
    app.post_message(events.Key(key, char))
    await _until(done, 5)
    t_done = time.perf_counter()
    await _until(lambda: app.frames and app.frames[-1] >= t_done, 5)
    return app.frames[-1] - t0


async def measure(schedule: str, seconds: float, size: tuple[int, int]) -> dict:
    """Run the live app and measure; returns the numbers."""
    backends = tuple(
        BackendSpec(b, b, {"threads": 1} if b != "null" else {})
        for b in ("onnxruntime", "openvino", "torch", "null")
    )
    plan = RunPlan(
        model="bert-tiny",
        backends=backends,
        workload=WorkloadSpec(seq=128),
        duration_s=60.0,
        iterations=10,
        warmup_iterations=5,
        schedule=schedule,
    )
    save = Path(tempfile.mkdtemp(prefix="infbench-bench-")) / "tui.infb"
    app = CountingApp(plan=plan, args=argparse.Namespace(save=str(save), no_monitors=False, setup=False))
    app.frames = []
    res: dict = {"schedule": schedule, "size": size}
    async with app.run_test(size=size) as pilot:
        live = app.screen
        assert isinstance(live, LiveScreen)
        await _until(
            lambda: (
                live.last_snapshot is not None  # every backend present and measuring
                and len(live.last_snapshot.backends) == len(plan.labels)
                and all(b.count > 0 for b in live.last_snapshot.backends)
            ),
            300,
        )
        await asyncio.sleep(1.0)
        store = live.rec.store
        n0 = {lab: store.sample_count(lab) for lab in plan.labels}
        f0, t0 = len(app.frames), time.perf_counter()
        build: list[float] = []
        orig = live.builder.build

        def timed(t_ns=None):
            a = time.perf_counter()
            out = orig(t_ns)
            build.append(time.perf_counter() - a)
            return out

        live.builder.build = timed  # type: ignore[method-assign]
        await asyncio.sleep(seconds)
        dt = time.perf_counter() - t0
        frames = app.frames[f0:]
        gaps = [b - a for a, b in itertools.pairwise(frames)]
        res["fps"] = len(frames) / dt
        res["max_gap_ms"] = max(gaps) * 1e3 if gaps else float("nan")
        res["calls_per_s"] = {lab: (store.sample_count(lab) - n0[lab]) / dt for lab in plan.labels}
        res["build_ms"] = (statistics.median(build) * 1e3, max(build) * 1e3)
        keys: list[float] = []
        by_key: dict[str, list[float]] = {"?": [], "esc": [], "p": []}
        for _ in range(5):
            by_key["?"].append(
                await _key(app, "question_mark", "?", lambda: isinstance(app.screen, HelpScreen))
            )
            by_key["esc"].append(await _key(app, "escape", None, lambda: app.screen is live))
            was = live.rec.runner.paused
            by_key["p"].append(await _key(app, "p", "p", lambda w=was: live.rec.runner.paused != w))
            await asyncio.sleep(0.2)
        keys = [k for ks in by_key.values() for k in ks]
        res["key_ms"] = (statistics.median(keys) * 1e3, max(keys) * 1e3, len(keys))
        res["key_by"] = {k: (statistics.median(v) * 1e3, max(v) * 1e3) for k, v in by_key.items()}
        if live.rec.runner.paused:
            live.rec.runner.resume()
        await pilot.press("q")
        await _until(lambda: app.return_value is not None, 120)
    res["exit"] = app.return_value.code
    return res


NOTES = "<!-- notes: kept when the bench rewrites the table -->"


def write(results: list[dict], load: tuple[tuple[float, ...], tuple[float, ...]], argv: list[str]) -> None:
    """Write the markdown table (keeping the hand-written notes below the `NOTES` marker)."""
    lines = [
        "# TUI smoothness (bench/tui_smoothness.py)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')} · `{' '.join(['.venv/bin/python bench/tui_smoothness.py', *argv])}`",
        "",
        (
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; load average (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in load[0])}, "
            f"after {'/'.join(f'{x:.2f}' for x in load[1])}. Live app headless (`run_test`), bert-tiny seq 128, "
            "onnxruntime + openvino + torch (1 thread each) + null; frames = composed screen updates; key = post → "
            "first frame showing the effect (`?` help, `escape`, `p` pause/resume). "
            "Targets: ≥ 15 frames/s, key ≤ 100 ms."
        ),
        "",
        (
            "| schedule | terminal | frames/s | longest gap | snapshot build median / max | key median / max (n) "
            "| key median / max: ? · esc · p | calls/s during the window |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        calls = ", ".join(f"{k} {v:,.0f}" for k, v in r["calls_per_s"].items())
        by = " · ".join(f"{a:.0f}/{b:.0f}" for a, b in r["key_by"].values())
        lines.append(
            f"| {r['schedule']} | {r['size'][0]}×{r['size'][1]} | {r['fps']:.1f} | {r['max_gap_ms']:.0f} ms "
            f"| {r['build_ms'][0]:.1f} / {r['build_ms'][1]:.1f} ms | {r['key_ms'][0]:.0f} / {r['key_ms'][1]:.0f} ms "
            f"({r['key_ms'][2]}) | {by} ms | {calls} |"
        )
    notes = ""
    if OUT.exists() and NOTES in OUT.read_text():
        notes = OUT.read_text().split(NOTES, 1)[1]
    OUT.write_text("\n".join(lines) + "\n\n" + NOTES + notes.rstrip() + "\n")
    print("\n".join(lines))


def main() -> int:
    """Measure each schedule and write the results."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--schedule", action="append", choices=("concurrent", "interleaved"))
    p.add_argument("--seconds", type=float, default=6.0)
    args = p.parse_args()
    load0 = os.getloadavg()
    results = [
        asyncio.run(measure(s, args.seconds, (160, 48)))
        for s in args.schedule or ["interleaved", "concurrent"]
    ]
    write(results, (load0, os.getloadavg()), sys.argv[1:])
    ok = all(r["fps"] >= 15 and r["key_ms"][0] <= 100 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
