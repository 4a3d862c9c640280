"""Synthetic A/A runs with known truth, generated the way the interleaved schedule produces real ones.

One machine makes back-to-back calls; the calls are cut into turns of `turn_s` seconds, and every round gives
each of two *identical* backends one turn, in shuffled order. A call's duration is a base latency times

- AR(1) noise in log space (correlated from call to call, as thermal state and frequency are),
- i.i.d. log-normal noise,
- a slow linear drift over the run,
- a level that jumps at random instants (a Poisson process): round-to-round jumps like neighbours or
  frequency changes, which hit whichever backend holds the machine at that moment,
- a session level (how much whole runs differ from one another),
- a per-process offset: each backend is one engine process for the whole run, and two identical processes
  differ by a steady factor (log sd `process_sigma` each, so their ratio has log sd √2 × that).

The two backends are identical, so the true ratio of any of their quantiles is 1: a 95 % interval of the
ratio should contain 1 in 95 % of runs. Used by `bench/calibration.py` and the calibration unit test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from infbench.analysis.intervals import Calls


@dataclass(frozen=True)
class AARunSpec:
    """Parameters of a synthetic A/A run (times in seconds, noise as log-scale standard deviations).

    The defaults resemble `run bert-tiny -b ort --threads 1 --aa -d 8` on the project's 2-vCPU VM: ~125 calls
    per turn, 32 rounds, turn medians of the two backends differing by ~3 % (log sd) from round to round.
    """

    rounds: int = 32
    turn_s: float = 0.25
    base_ms: float = 2.0
    ar_phi: float = 0.99
    ar_sigma: float = 0.03
    iid_sigma: float = 0.1
    drift: float = 0.05
    jump_rate_hz: float = 1.0
    jump_sigma: float = 0.03
    session_sigma: float = 0.0
    process_sigma: float = 0.013 / 2**0.5  # the ratio's spread measured on real A/A runs (compare.py)


def _levels(t: np.ndarray, total_s: float, spec: AARunSpec, rng: np.random.Generator) -> np.ndarray:
    n_jumps = rng.poisson(spec.jump_rate_hz * total_s)
    times = np.sort(rng.uniform(0.0, total_s, n_jumps))
    seg = np.exp(rng.normal(0.0, spec.jump_sigma, n_jumps + 1))
    jump = seg[np.searchsorted(times, t)]
    return jump * (1.0 + spec.drift * t / total_s)


def aa_run(spec: AARunSpec, rng: np.random.Generator) -> tuple[Calls, Calls]:
    """One synthetic A/A run: (A, B) calls in ns, in time order, with the turn (= round) index of each call."""
    total_s = 2 * spec.rounds * spec.turn_s
    n = int(2.0 * total_s / (spec.base_ms / 1e3)) + 64
    e = rng.normal(0.0, spec.ar_sigma * np.sqrt(1.0 - spec.ar_phi**2), n)
    ar, _ = lfilter([1.0], [1.0, -spec.ar_phi], e, zi=[rng.normal(0.0, spec.ar_sigma) * spec.ar_phi])
    d0 = spec.base_ms * 1e-3 * np.exp(ar + rng.normal(0.0, spec.iid_sigma, n))
    t = np.cumsum(d0) - d0
    dur = d0 * _levels(t, total_s, spec, rng) * np.exp(rng.normal(0.0, spec.session_sigma))
    end = np.cumsum(dur)
    owner_turns: list[list[np.ndarray]] = [[], []]
    i, t_now = 0, 0.0
    for _ in range(spec.rounds):
        for who in rng.permutation(2):
            # The call that crosses the end
            j = int(np.searchsorted(end, t_now + spec.turn_s, side="left")) + 1
            j = min(max(j, i + 1), n)
            owner_turns[who].append(dur[i:j])
            t_now, i = float(end[j - 1]), j
    out = []
    for turns in owner_turns:
        d = np.concatenate(turns) * 1e9 * np.exp(rng.normal(0.0, spec.process_sigma))
        idx = np.repeat(np.arange(len(turns)), [x.size for x in turns])
        out.append(Calls(d, idx))
    return out[0], out[1]


def _covers(ci: tuple[float, float], value: float = 1.0) -> bool:
    return bool(ci[0] <= value <= ci[1])


def calibrate(spec: AARunSpec, n_runs: int, seed: int = 0, n_boot: int = 1000) -> dict[str, float]:
    """Coverage of the 95 % ratio CIs over `n_runs` synthetic A/A runs, and false-verdict rates of compare.

    Keys: ``median`` / ``p99`` (coverage of the paired round bootstrap used by `compare_latencies`),
    ``median_iid`` (the exact bootstrap of single calls, the method used before), ``false_aa`` (a verdict
    other than "no significant difference" for A vs B of one run at the default 5 % band), ``false_aa_0``
    (the same with no band: p-value and CI alone) and ``false_1v1`` (backend A of one run vs backend A of the
    next run at the default band).
    """
    from infbench.analysis.compare import NO_DIFFERENCE, compare_latencies
    from infbench.analysis.resample import bootstrap_quantile_draws
    from infbench.analysis.stats import ci95

    rng = np.random.default_rng(seed)
    hits = {"median": 0, "p99": 0, "median_iid": 0, "false_aa": 0, "false_aa_0": 0, "false_1v1": 0}
    previous: Calls | None = None
    for k in range(n_runs):
        a, b = aa_run(spec, rng)
        c = compare_latencies(a, b, threshold=0.0, n_boot=n_boot, seed=k, paired=True)
        hits["median"] += _covers(c.median_ratio_ci95)
        hits["p99"] += _covers(c.p99_ratio_ci95)
        hits["false_aa_0"] += c.verdict != NO_DIFFERENCE
        hits["false_aa"] += compare_latencies(a, b, 0.05, n_boot, k, paired=True).verdict != NO_DIFFERENCE
        r = np.random.default_rng(k)
        iid = bootstrap_quantile_draws(np.sort(b.dur), 0.5, n_boot, r) / bootstrap_quantile_draws(
            np.sort(a.dur), 0.5, n_boot, r
        )
        hits["median_iid"] += _covers(ci95(iid))
        if previous is not None:
            hits["false_1v1"] += compare_latencies(previous, a, 0.05, n_boot, k).verdict != NO_DIFFERENCE
        previous = a
    out = {key: value / n_runs for key, value in hits.items()}
    out["false_1v1"] = hits["false_1v1"] / max(1, n_runs - 1)
    return out


def calibrate_sessions(
    spec: AARunSpec, n_groups: int, per_side: int = 3, seed: int = 0, threshold: float = 0.05
) -> float:
    """False-verdict rate of `compare A1..Am -- B1..Bm` (between-session t interval) over `n_groups` groups of
    2 × `per_side` synthetic runs of the same thing (use a `spec` with ``session_sigma`` > 0)."""
    from infbench.analysis.between import compare_between

    rng = np.random.default_rng(seed)
    false = 0
    for _ in range(n_groups):
        runs = [aa_run(spec, rng)[0].dur for _ in range(2 * per_side)]
        med = [float(np.median(x)) for x in runs]
        p99 = [float(np.percentile(x, 99)) for x in runs]
        c = compare_between(med[:per_side], med[per_side:], p99[:per_side], p99[per_side:], threshold)
        false += c["verdict"] != "no significant difference"
    return false / n_groups
