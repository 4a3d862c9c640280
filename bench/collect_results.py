"""Assemble BENCHMARKS.md from the latest result of every bench script (bench/results/*.md).

.venv/bin/python bench/collect_results.py
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = [
    "observer_effect",
    "harness_floor",
    "monitor_cost",
    "sessions",
    "tui",
    "first_numbers_ort",
    "first_numbers",
    "detection",
    "calibration",
]
INTRO = """# Benchmarks

Performance claims of infbench-tui, each measured by a script in `bench/` whose latest output is below.
Machine for all of them unless a section says otherwise: the project's 2-vCPU AMD EPYC VM (24 GiB, no GPU),
Python 3.11. Timings on this VM are noisy, so every comparison is a ratio measured within one run (A B A B …),
never an absolute time held against a fixed number. Re-run a script and then this one to refresh the file.

"""
CLAIMS = [
    (
        "`bench/observer_effect.py`",
        "infbench's median/p99 ÷ a bare loop of the same call in a plain process: engine child per backend; "
        "whole program (live TUI in tmux, headless) for ORT at 1 thread (and, as information, every core)",
        "≤ 1.02 / ≤ 1.05",
    ),
    ("`bench/harness_floor.py`", "per-call overhead of the harness (null engine)", "p50 ≤ 2 µs"),
    ("`bench/monitor_cost.py`", "CPU cost of the monitor sampler at 10 Hz", "≤ 0.5 % of one core"),
    (
        "`bench/session_ingest.py`, `bench/session_size.py`",
        "recorder ingest rate; bytes/sample, open+seek, RSS at 10 M samples",
        "≥ 200 k/s; ≤ 4 B; ≤ 1 s; < 300 MB",
    ),
    (
        "`bench/tui_smoothness.py`",
        "refreshes/s and key response with 3 backends + null at full rate",
        "≥ 15 /s; ≤ 100 ms",
    ),
    (
        "`bench/first_numbers.py`",
        "launch → first live number (cached bert-small, tmux): ort alone; ort + ov + torch",
        "≤ 1.5 s; ≤ 3 s",
    ),
    (
        "`bench/calibration.py`",
        "coverage of the 95 % ratio CIs on A/A runs (synthetic / real); false verdicts of `compare`",
        "93–97 % / ≥ 90 %; ≤ 5 %",
    ),
    (
        "`bench/detection.py`",
        "slowdown detection at 2–1000 ms per call: recall, precision, false alarms, attribution",
        "2× ≥ 3 s: ≥ 0.9 / ≥ 0.9; ≤ 1 FA / 10 min",
    ),
]


def claims_table() -> str:
    """The table of scripts, claims and targets under the introduction."""
    rows = ["| script | claim | target |", "|---|---|---|"]
    rows += [f"| {script} | {claim} | {target} |" for script, claim, target in CLAIMS]
    return "\n".join(rows) + "\n"


def main() -> None:
    """Write BENCHMARKS.md."""
    results = ROOT / "bench" / "results"
    parts = [INTRO + claims_table()]
    names = ORDER + sorted(p.stem for p in results.glob("*.md") if p.stem not in ORDER)
    for name in names:
        path = results / f"{name}.md"
        if path.exists():
            text = path.read_text().strip()
            if text.startswith("# "):  # demote a result file's title to a section
                text = "#" + text
            parts.append(text + "\n")
    (ROOT / "BENCHMARKS.md").write_text("\n".join(parts))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
