"""The /proc/stat fast path of CpuMonitor: parsing on fixture text, and agreement with psutil here."""

from __future__ import annotations

import time

import psutil
import pytest

from infbench.monitors.cpu import CpuMonitor, parse_proc_stat

STAT_A = """cpu  100 0 50 800 10 0 0 5 0 0
cpu0 60 0 30 400 5 0 0 3 0 0
cpu1 40 0 20 400 5 0 0 2 0 0
intr 12345
"""
STAT_B = """cpu  250 0 100 850 20 0 0 15 0 0
cpu0 160 0 60 410 10 0 0 10 0 0
cpu1 90 0 40 440 10 0 0 5 0 0
intr 12399
"""


def test_parse_and_utilisation_from_fixture(tmp_path):
    path = tmp_path / "stat"
    path.write_text(STAT_A)
    assert parse_proc_stat(STAT_A) == [(93, 498, 3, 5), (62, 467, 2, 5)]
    mon = CpuMonitor(stat_path=str(path))
    mon.probe()
    path.write_text(STAT_B)
    v = mon.sample(1).values
    # cpu0: busy 93→230 (+137) of total 498→650 (+152); cpu1: busy 62→135 (+73) of 467→585 (+118)
    assert v["cpu.util.0"] == pytest.approx(100 * 137 / 152, abs=0.01)
    assert v["cpu.util.1"] == pytest.approx(100 * 73 / 118, abs=0.01)
    assert v["cpu.util.total"] == pytest.approx(100 * 210 / 270, abs=0.01)
    assert v["cpu.steal"] == pytest.approx(100 * 10 / 270, abs=0.01)
    assert parse_proc_stat("intr 12345\n") is None and parse_proc_stat("cpu 1\ncpu0 x y\n") is None


def test_missing_proc_stat_falls_back_to_psutil(tmp_path):
    mon = CpuMonitor(stat_path=str(tmp_path / "missing"))
    mon.probe()
    sum(range(200_000))
    v = mon.sample(1).values
    cores = [k for k in v if k.startswith("cpu.util.") and k[9:].isdigit()]
    assert len(cores) == psutil.cpu_count() and 0.0 <= v["cpu.util.total"] <= 100.0


def test_fast_path_agrees_with_psutil_on_this_machine():
    mon = CpuMonitor()
    mon.probe()
    psutil.cpu_percent(percpu=True)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # keep one core busy so both see load
        sum(range(1000))
    ours = mon.sample(1).values
    theirs = psutil.cpu_percent(percpu=True)
    assert len([k for k in ours if k.startswith("cpu.util.") and k[9:].isdigit()]) == len(theirs)
    assert ours["cpu.util.total"] == pytest.approx(sum(theirs) / len(theirs), abs=15)


def test_system_memory_matches_psutil_and_parses_fixture(tmp_path):
    from infbench.monitors.memory import MemoryMonitor, parse_meminfo

    (tmp_path / "proc").mkdir()
    meminfo = "MemTotal:        1000000 kB\nMemFree:          100000 kB\nMemAvailable:     400000 kB\nBuffers: 1 kB\n"
    (tmp_path / "proc" / "meminfo").write_text(meminfo)
    assert parse_meminfo(meminfo) == {"MemTotal": 1_024_000_000, "MemAvailable": 409_600_000}
    v = MemoryMonitor(root=str(tmp_path)).sample(1).values
    assert v["mem.percent"] == 60.0 and v["mem.available_mb"] == round(409_600_000 / 2**20, 1)
    ours, theirs = MemoryMonitor().sample(1).values, psutil.virtual_memory()
    assert ours["mem.available_mb"] == pytest.approx(theirs.available / 2**20, rel=0.05)
    assert ours["mem.percent"] == pytest.approx(theirs.percent, abs=2)
