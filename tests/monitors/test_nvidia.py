"""The real NVML monitor against a stand-in pynvml replaying recorded values and raising real NVMLErrors."""

from __future__ import annotations

import sys

import pynvml
import pytest

from infbench.monitors.clock_events import CLOCK_EVENT_BITS, describe_clock_events
from infbench.monitors.nvidia import NvidiaMonitor, gpu_inventory
from infbench.monitors.sampler import Sampler
from tests.monitors.fake_pynvml import make_fake

FIXTURE = "nvml_h100_t4_synthetic.json"


def test_library_not_found_is_one_reason_probed_once(monkeypatch, recorder) -> None:
    fake = make_fake({"init_error": "LibraryNotFound"})
    count = {"n": 0}
    original = fake.nvmlInit

    def counting_init() -> None:
        count["n"] += 1
        original()

    fake.nvmlInit = counting_init
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    s = Sampler([NvidiaMonitor()], recorder)
    s.start()
    s.stop()
    assert s.probes[0].missing == {"gpu": "NVML Shared Library Not Found"}
    assert [e.message for e in recorder.events] == ["gpu: unavailable: NVML Shared Library Not Found"]
    NvidiaMonitor().probe()
    assert gpu_inventory() == {"available": False, "reason": "NVML Shared Library Not Found"}
    assert count["n"] == 1  # verdict cached


def test_replay_values_and_per_function_reasons() -> None:
    m = NvidiaMonitor(nvml=make_fake(FIXTURE))
    m.set_processes({"ort": 4242})
    p = m.probe()
    assert p.missing["gpu1.power_w"] == "not supported by this GPU/driver"
    assert p.missing["gpu1.power_limit_w"] == "permission denied"
    assert p.missing["gpu1.violation.power_us.delta"] == "not supported by this GPU/driver"
    # Throttle-reasons fallback
    assert "gpu1.util" in p.available and "gpu1.clock_event_reasons" in p.available
    v1 = m.sample(1).values
    assert v1["gpu0.util"] == 97 and v1["gpu0.sm_clock_mhz"] == 1755 and v1["gpu0.sm_clock_max_mhz"] == 1980
    assert v1["gpu0.temp_c"] == 79 and v1["gpu0.temp_slowdown_c"] == 90
    assert v1["gpu0.power_w"] == 689 and v1["gpu0.power_limit_w"] == 700
    assert v1["gpu0.clock_event_reasons"] == 0x4 and v1["gpu0.clock_event_alarm"] == 0  # SW power cap: normal
    assert v1["gpu0.violation.power_us.delta"] == 50_000 and v1["gpu0.violation.thermal_us.delta"] == 0
    assert v1["gpu0.proc.ort.mem_mb"] == 2048 and v1["gpu0.other_procs"] == 1
    assert v1["gpu0.mem_total_mb"] > v1["gpu0.mem_used_mb"] > 0
    assert "gpu1.power_w" not in v1 and "gpu1.temp_slowdown_c" not in v1
    assert v1["gpu1.clock_event_reasons"] == 0x4  # 0x804 masked by supported 0xff
    v2 = m.sample(2).values
    assert v2["gpu0.clock_event_reasons"] == 0x24  # 0x424 masked by supported 0x1ff
    assert v2["gpu0.clock_event_alarm"] == 1


def test_function_not_found_falls_back_and_call_failure_reads_none() -> None:
    spec = {
        "devices": [
            {
                "nvmlDeviceGetUtilizationRates": {
                    "replay": [{"gpu": 5, "memory": 1}, {"gpu": 0, "memory": 0}]
                },
                "nvmlDeviceGetCurrentClocksThrottleReasons": 0x8,
            }
        ]
    }
    fake = make_fake(spec)
    m = NvidiaMonitor(nvml=fake)
    p = m.probe()
    assert p.missing["gpu0.temp_c"] == "function not found in this driver's NVML"
    assert "gpu0.clock_event_reasons" in p.available
    assert "current bits shown unmasked" in p.missing["gpu0.clock_event_reasons.supported"]
    v = m.sample(1).values
    assert v["gpu0.clock_event_alarm"] == 1 and v["gpu0.util"] == 0
    fake.nvmlDeviceGetUtilizationRates = lambda h: (_ for _ in ()).throw(pynvml.NVMLError_GpuIsLost())
    assert m.sample(2).values["gpu0.util"] is None


def test_gpu_alarm_emits_throttle_events(recorder) -> None:
    m = NvidiaMonitor(nvml=make_fake(FIXTURE))
    s = Sampler([m], recorder)
    s._probe_all()
    s.tick([m])
    s.tick([m])
    on = [e for e in recorder.events if e.kind == "throttle_on"]
    assert len(on) == 1 and on[0].data["signal"] == "gpu0"
    assert "sw_thermal_slowdown" in on[0].message and "sw_power_cap" not in on[0].message
    assert ["sw_power_cap", "normal"] in on[0].data["reasons"]


def test_describe_clock_events_matches_pynvml_constants() -> None:
    assert describe_clock_events(0x4 | 0x40 | 0x1000) == [
        ("sw_power_cap", "normal"),
        ("hw_thermal_slowdown", "alarm"),
        ("0x1000", "info"),
    ]
    assert describe_clock_events(None) == [] and describe_clock_events(0) == []
    real = {
        "gpu_idle": pynvml.nvmlClocksEventReasonGpuIdle,
        "sw_power_cap": pynvml.nvmlClocksEventReasonSwPowerCap,
        "hw_slowdown": pynvml.nvmlClocksEventReasonHwSlowdown,
        "sw_thermal_slowdown": pynvml.nvmlClocksEventReasonSwThermalSlowdown,
        "hw_thermal_slowdown": pynvml.nvmlClocksEventReasonHwThermalSlowdown,
        "hw_power_brake_slowdown": pynvml.nvmlClocksEventReasonHwPowerBrakeSlowdown,
        "board_limit": pynvml.nvmlClocksThrottleReasonBoardLimit,
    }
    by_name = {name: bit for bit, (name, _) in CLOCK_EVENT_BITS.items()}
    for name, bit in real.items():
        assert by_name[name] == bit


@pytest.mark.parametrize("spec_name", [FIXTURE])
def test_inventory_for_doctor(spec_name) -> None:
    inv = gpu_inventory(make_fake(spec_name))
    assert inv["available"] and inv["driver"] == "550.54.15"
    d0 = inv["devices"][0]
    assert d0["name"] == "NVIDIA H100 80GB HBM3" and d0["persistence_mode"] == 0
    assert d0["app_clock_sm_mhz"] == 1755 and d0["default_app_clock_sm_mhz"] == 1980
    from infbench.monitors.checks import environment_warnings

    warnings = environment_warnings({"gpu": inv}, {})
    assert any("persistence mode off" in w for w in warnings)
    assert any("application SM clock 1755" in w for w in warnings)
