"""Kept-open /proc and sysfs files, the process scanner, the memory monitor on a fixture tree, the tick plan."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from infbench.monitors.base import KeptFile, Monitor, Probe
from infbench.monitors.memory import MemoryMonitor, parse_meminfo, vmstat_value
from infbench.monitors.procstat import PAGE_SIZE, ProcScanner, parse_involuntary_switches, scan_all
from infbench.monitors.sampler import tick_plan

from .conftest import write


@pytest.fixture
def sleeper():
    """A child process that sleeps until killed."""
    p = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(100)"],
        stdout=subprocess.PIPE,
    )
    assert p.stdout.readline() == b"up\n"  # the interpreter is loaded
    yield p
    p.stdout.close()
    p.kill()
    p.wait()


def test_kept_file_sees_new_content_and_reopens(tmp_path) -> None:
    path = tmp_path / "counter"
    kept = KeptFile(str(path))
    assert kept.read() is None  # not there yet
    path.write_text("1\n")
    assert kept.read() == "1\n"
    path.write_text("22\n")  # rewritten in place, as sysfs/procfs content changes
    assert kept.read() == "22\n"
    os.remove(path)
    path.write_text("3\n")  # a new file at the path: the kept descriptor still reads the old one
    assert kept.read() == "22\n"
    kept.close()
    assert kept.read() == "3\n"  # reopened after close
    assert KeptFile(str(path), size=1).read() == "3"


def test_kept_proc_file_stays_with_its_process(sleeper) -> None:
    kept = KeptFile(f"/proc/{sleeper.pid}/stat", 4096, reopen=False)
    first = kept.read()
    assert first is not None and first.startswith(f"{sleeper.pid} (")
    assert kept.read() is not None
    sleeper.kill()
    sleeper.wait()
    assert kept.read() is None
    assert kept.read() is None  # never reopened: the pid may name another process by now


def test_real_proc_stat_is_reread_through_a_kept_descriptor() -> None:
    kept = KeptFile("/proc/self/stat", 4096)

    def utime():
        return int(kept.read().rsplit(")", 1)[1].split()[11])

    before = utime()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert utime() > before


def test_scanner_matches_scan_all_and_drops_exited_processes(sleeper) -> None:
    scanner = ProcScanner()
    first = scanner.scan()
    assert sleeper.pid in first and os.getpid() in first
    plain = scan_all()
    both = set(plain) & set(first)
    assert {1, os.getpid(), sleeper.pid} <= both
    assert all((plain[p].name, plain[p].ppid) == (first[p].name, first[p].ppid) for p in both)
    assert first[sleeper.pid].ppid == os.getpid() and first[sleeper.pid].rss_bytes > 0
    sleeper.kill()
    sleeper.wait()
    second = scanner.scan()
    assert sleeper.pid not in second and os.getpid() in second
    assert sleeper.pid not in scanner._files
    scanner.close()
    assert not scanner._files


def test_scanner_within_its_descriptor_budget(tree) -> None:
    root = tree("sysfs_intel")
    kept_none, kept_two = ProcScanner(str(root), budget=0), ProcScanner(str(root), budget=2)
    expected = scan_all(str(root))
    assert kept_none.scan() == expected and kept_two.scan() == expected
    assert not kept_none._files and len(kept_two._files) == 2
    write(root, "proc/200/stat", (root / "proc/200/stat").read_text().replace(" 1000 0 ", " 1050 0 ", 1))
    assert kept_two.scan()[200].cpu_s == kept_none.scan()[200].cpu_s == scan_all(str(root))[200].cpu_s


def test_meminfo_vmstat_and_status_parsers() -> None:
    text = "MemTotal: 100 kB\nMemFree: 5 kB\nMemAvailable: 40 kB\nSwapTotal: 10 kB\nSwapFree: 4 kB\nX: y\n"
    assert parse_meminfo(text) == {
        "MemTotal": 102400,
        "MemAvailable": 40960,
        "SwapTotal": 10240,
        "SwapFree": 4096,
    }
    assert parse_meminfo("MemTotal: nonsense\n") == {}
    vm = "nr_free_pages 9\npswpin 5\npswpout 7"
    assert (vmstat_value(vm, "pswpin"), vmstat_value(vm, "pswpout"), vmstat_value(vm, "nr_free_pages")) == (
        5,
        7,
        9,
    )
    assert vmstat_value(vm, "pswp") is None and vmstat_value("pswpin x\n", "pswpin") is None
    assert parse_involuntary_switches("voluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t41\n") == 41
    assert parse_involuntary_switches("Name: x\n") is None


def _proc(root, pid: int, minflt: int, utime: int, rss_pages: int, switches: int) -> None:
    (root / f"proc/{pid}").mkdir(parents=True, exist_ok=True)
    write(
        root,
        f"proc/{pid}/stat",
        f"{pid} (engine x) S 1 1 1 0 -1 0 {minflt} 0 3 0 {utime} 0 0 0 20 0 1 0 100 1000000 {rss_pages} 0 0",
    )
    write(
        root,
        f"proc/{pid}/status",
        f"Name:\tengine\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t{switches}\n",
    )


def test_memory_monitor_on_a_fixture_tree(tmp_path) -> None:
    from infbench.monitors.procstat import CLK_TCK

    root = tmp_path
    (root / "proc").mkdir()
    meminfo = "MemTotal: 1000000 kB\nMemAvailable: 400000 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\n"
    write(root, "proc/meminfo", meminfo)
    write(root, "proc/vmstat", "pgfault 1\npswpin 0\npswpout 0\n")
    _proc(root, 42, minflt=10, utime=0, rss_pages=256, switches=5)
    m = MemoryMonitor(root=str(root), swap_every=1)
    m.set_processes({"ort": 42})
    v = m.sample(0).values
    assert v["mem.percent"] == 60.0 and v["mem.swap_used_mb"] == 1.0 and v["mem.swap_in_mb_s"] is None
    assert v["proc.ort.rss_mb"] == round(256 * PAGE_SIZE / 2**20, 2) and v["proc.ort.cpu_percent"] is None
    assert v["proc.ort.minor_faults.delta"] is None and v["proc.ort.ctx_involuntary.delta"] is None

    write(root, "proc/vmstat", f"pgfault 1\npswpin {2**20 // PAGE_SIZE}\npswpout 0\n")  # 1 MiB swapped in
    _proc(root, 42, minflt=15, utime=CLK_TCK // 2, rss_pages=512, switches=9)
    v = m.sample(1_000_000_000).values  # 1 s later
    assert v["mem.swap_in_mb_s"] == 1.0 and v["mem.swap_out_mb_s"] == 0.0
    assert v["proc.ort.cpu_percent"] == 50.0 and v["proc.ort.minor_faults.delta"] == 5
    assert v["proc.ort.major_faults.delta"] == 0 and v["proc.ort.ctx_involuntary.delta"] == 4
    assert v["proc.ort.rss_mb"] == round(512 * PAGE_SIZE / 2**20, 2)

    _proc(root, 43, minflt=1, utime=0, rss_pages=1, switches=0)  # the engine restarted as another pid
    m.set_processes({"ort": 43})
    v = m.sample(2_000_000_000).values
    assert v["proc.ort.minor_faults.delta"] is None and v["proc.ort.cpu_percent"] is None
    m.set_processes({"ov": 44})  # no such process
    v = m.sample(3_000_000_000).values
    assert v["proc.ov.rss_mb"] is None and not any(k.startswith("proc.ort.") for k in v)
    m.close()


def test_memory_monitor_follows_a_real_child_until_it_exits(sleeper) -> None:
    m = MemoryMonitor()
    m.set_processes({"child": sleeper.pid})
    assert m.sample(0).values["proc.child.rss_mb"] > 1
    sleeper.kill()
    sleeper.wait()
    assert m.sample(1).values["proc.child.rss_mb"] is None
    m.close()


class _Rate(Monitor):
    def __init__(self, name: str, rate_hz: float) -> None:
        self.name, self.rate_hz = name, rate_hz

    def probe(self) -> Probe:
        return Probe(self.name, ["x"], {})

    def sample(self, t_ns: int):
        return self.reading(t_ns, {})


def test_tick_plan_runs_each_monitor_at_its_rate() -> None:
    cpu, mem, freq, others = _Rate("cpu", 10), _Rate("mem", 2), _Rate("freq", 1), _Rate("others", 0.5)
    period, plan = tick_plan([cpu, mem, freq, others])
    assert period == pytest.approx(0.1) and len(plan) == 20
    counts = {m.name: sum(m in due for due in plan) for m in (cpu, mem, freq, others)}
    assert counts == {"cpu": 20, "mem": 4, "freq": 2, "others": 1}
    assert plan[0] == [cpu, mem, freq, others] and plan[1] == [cpu]
    period, plan = tick_plan([_Rate("slow", 0.5)])
    assert period == pytest.approx(2.0) and len(plan) == 1
    assert tick_plan([]) == (0.1, [[]])
