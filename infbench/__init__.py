"""infbench-tui: benchmark ML inference backends side by side, live, while watching the machine."""

__version__ = "0.1.0"
