"""Inference engines. Each runs inside its own child process (see worker.py / host.py)."""
