"""`infbench-tui doctor` through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infbench.monitors.nvidia import gpu_inventory

SCRIPT = Path(sys.executable).with_name("infbench-tui")


def test_doctor_json() -> None:
    out = subprocess.run(
        [str(SCRIPT), "doctor", "--json"], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    fp = report["fingerprint"]
    assert fp["cpu"]["logical_cores"] >= 1 and fp["memory"]["total_mb"] > 0
    assert fp["python"]["version"] and "numpy" in fp["packages"]
    # the child's verdict on the GPU is this machine's, and its sensor table agrees with it
    assert fp["gpu"]["available"] is gpu_inventory()["available"]
    assert isinstance(report["warnings"], list)
    monitors = {p["monitor"]: p for p in report["sensors"]}
    assert "cpu.util" in monitors["cpu"]["available"]
    if fp["gpu"]["available"]:
        assert monitors["gpu"]["available"] and "gpu" not in monitors["gpu"]["missing"]
    else:
        assert monitors["gpu"]["available"] == [] and monitors["gpu"]["missing"]["gpu"] == fp["gpu"]["reason"]


def test_doctor_tables() -> None:
    out = subprocess.run([str(SCRIPT), "doctor"], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "sensors" in out.stdout and "available" in out.stdout
