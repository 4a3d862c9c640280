"""Helpers that produce realistic run data with a known answer (tests and benches)."""
