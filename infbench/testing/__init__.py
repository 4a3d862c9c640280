"""Run data with a known answer, for the tests and benches (never used by a run).

- `streams`: one backend's run as the engine child and the monitors produce it, fed through the real listener
  methods (slowdown detection and attribution tests, `bench/detection.py`);
- `aa_runs`: A/A runs of two identical backends as arrays with turn indices, vectorised so thousands of runs are
  cheap (interval calibration, `bench/calibration.py`).
"""
