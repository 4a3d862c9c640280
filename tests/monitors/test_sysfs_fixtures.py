"""Sysfs/hwmon/cgroup/PSI/proc parsing against fixture trees, including counter increments."""

from __future__ import annotations

from infbench.monitors.cpu import CpuFreqMonitor
from infbench.monitors.fingerprint import cpu_facts
from infbench.monitors.sampler import Sampler, default_monitors
from infbench.monitors.system import OtherProcessesMonitor, PressureMonitor, find_cgroup_cpu
from infbench.monitors.thermal import ThermalMonitor
from tests.monitors.conftest import write

CPU = "sys/devices/system/cpu"


def test_cpufreq_from_sysfs(tree) -> None:
    m = CpuFreqMonitor(root=str(tree("sysfs_intel")), rate_hz=1)
    assert m.probe().available == ["cpu.freq_mhz", "cpu.freq_max_mhz"]
    v = m.sample(1).values
    assert v["cpu.freq_mhz.0"] == 2400.0 and v["cpu.freq_mhz.3"] == 2700.0
    assert v["cpu.freq_mhz"] == 2550.0 and v["cpu.freq_max_mhz"] == 4800.0


def test_hwmon_temperatures_and_nearest_limit(tree) -> None:
    m = ThermalMonitor(root=str(tree("sysfs_intel")))
    assert set(m.probe().available) == {"temp", "cpu.throttle.core_count", "cpu.throttle.package_count"}
    v = m.sample(1).values
    assert v["temp.coretemp.package_id_0"] == 71.0 and v["temp.coretemp.core_0"] == 68.0
    assert v["temp.nvme.temp1"] == 45.9
    assert v["temp.max_c"] == 71.0
    assert v["temp.max_high_c"] == 100.0 and v["temp.headroom_c"] == 29.0


def test_throttle_counters_package_read_once_per_package(tree) -> None:
    root = tree("sysfs_intel")
    m = ThermalMonitor(root=str(root))
    m.probe()
    v = m.sample(1).values
    assert v["cpu.throttle.core_count"] == 0 + 2 + 4 + 6
    assert v["cpu.throttle.package_count"] == 3 + 7  # one CPU per package, not 3+3+7+7
    assert v["cpu.throttle.core_count.delta"] is None
    write(root, f"{CPU}/cpu1/thermal_throttle/core_throttle_count", "5\n")
    v = m.sample(2).values
    assert v["cpu.throttle.core_count.delta"] == 3 and v["cpu.throttle.package_count.delta"] == 0


def test_pressure_and_cgroup_v2(tree) -> None:
    root = tree("sysfs_intel")
    m = PressureMonitor(root=str(root))
    assert m.probe().available == ["cpu.pressure", "cgroup.throttled"]
    v = m.sample(1).values
    assert v["cpu.pressure.some_avg10"] == 1.25 and v["cpu.pressure.some_total_us"] == 123456
    assert v["cgroup.nr_throttled"] == 4 and v["cgroup.throttled_usec"] == 25000
    assert v["cgroup.quota_cpus"] == 2.0
    write(
        root,
        "sys/fs/cgroup/user.slice/bench.scope/cpu.stat",
        "nr_periods 60\nnr_throttled 9\nthrottled_usec 40000\n",
    )
    v = m.sample(2).values
    assert v["cgroup.nr_throttled.delta"] == 5 and v["cgroup.throttled_usec.delta"] == 15000


def test_cgroup_v1_falls_back_to_mount_root(tree) -> None:
    root = tree("sysfs_vm_cgroup1")
    stat, version, quota, _ = find_cgroup_cpu(str(root))
    assert version == 1 and stat.endswith("cpu,cpuacct/cpu.stat") and quota == 1.5
    m = PressureMonitor(root=str(root))
    p = m.probe()
    assert "cgroup.throttled" in p.available and "cpu.pressure" in p.missing
    v = m.sample(1).values
    assert v["cgroup.throttled_usec"] == 5000  # throttled_time is in ns under v1


def test_vm_tree_says_what_is_missing(tree) -> None:
    root = str(tree("sysfs_vm_cgroup1"))
    p = ThermalMonitor(root=root).probe()
    assert not p.available
    assert "no sysfs node /sys/class/hwmon" in p.missing["temp"]
    assert "thermal_throttle" in p.missing["cpu.throttle.core_count"]
    assert "cpufreq" in CpuFreqMonitor(root=root).probe().missing["cpu.freq_max_mhz"]


def test_other_processes_from_proc_tree(tree) -> None:
    root = tree("sysfs_intel")
    m = OtherProcessesMonitor(root=str(root), self_pid=100)
    m.probe()
    m.sample(0)
    write(root, "proc/200/stat", (root / "proc/200/stat").read_text().replace(" 1000 0 ", " 1050 0 ", 1))
    write(root, "proc/101/stat", (root / "proc/101/stat").read_text().replace(" 500 0 ", " 590 0 ", 1))
    write(root, "proc/300/stat", (root / "proc/300/stat").read_text().replace(" 10 0 ", " 20 0 ", 1))
    v = m.sample(1_000_000_000).values  # 1 s later; 100 ticks = 1 s of CPU when CLK_TCK is 100
    from infbench.monitors.procstat import CLK_TCK

    assert v["other.top.0.name"] == "noisy (worker) 1" and v["other.top.0.pid"] == 200
    assert v["other.top.0.cpu_percent"] == round(100 * 50 / CLK_TCK, 2)
    assert v["other.top.1.name"] == "kworker"
    assert v["other.top.2.name"] is None  # pid 101 is our child: not counted
    assert v["other.cpu_percent"] == round(100 * 60 / CLK_TCK, 2)


def test_cpu_facts_from_tree(tree) -> None:
    facts = cpu_facts(str(tree("sysfs_intel")))
    assert facts["governors"] == ["performance"] and facts["turbo"] is False and facts["max_mhz"] is None


def test_counter_increment_emits_throttle_on_then_off(tree, recorder) -> None:
    root = tree("sysfs_intel")
    monitors = [m for m in default_monitors(str(root)) if m.name in ("thermal", "pressure")]
    s = Sampler(monitors, recorder)
    s._probe_all()
    s.tick(monitors)
    assert not [e for e in recorder.events if e.kind.startswith("throttle")]
    write(root, f"{CPU}/cpu2/thermal_throttle/package_throttle_count", "9\n")
    write(root, "sys/fs/cgroup/user.slice/bench.scope/cpu.stat", "nr_throttled 6\nthrottled_usec 30000\n")
    s.tick(monitors)
    on = {e.data["signal"]: e for e in recorder.events if e.kind == "throttle_on"}
    assert set(on) == {"cpu_thermal", "cgroup"}
    assert (
        on["cpu_thermal"].data["package_count_delta"] == 2
        and "package throttle count +2" in on["cpu_thermal"].message
    )
    assert on["cgroup"].data["throttled_usec_delta"] == 5000
    s.tick(monitors)
    off = {e.data["signal"] for e in recorder.events if e.kind == "throttle_off"}
    assert off == {"cpu_thermal", "cgroup"}
