"""Launch → first live number is mostly imports: the live path must not import what it does not use."""

from __future__ import annotations

import subprocess
import sys

LIVE_PATH = (
    "infbench.cli",
    "infbench.commands.run",
    "infbench.plan.build",
    "infbench.tui.launch",
    "infbench.tui.app",
    "infbench.tui.screens.live",
    "infbench.run.recorded_run",
)
# Heavy packages the live run has no use for until its end (scipy: the report's statistics) or ever (the
# backends live in engine children; the parent reads only their declarations).
NOT_ON_LIVE_PATH = ("scipy", "torch", "transformers", "onnxruntime", "openvino", "onnx")


def test_the_live_path_imports_no_backend_and_no_scipy() -> None:
    code = (
        "import sys\n"
        f"for m in {LIVE_PATH!r}: __import__(m)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({NOT_ON_LIVE_PATH!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", f"imported on the live path: {out.stdout.strip()}"
