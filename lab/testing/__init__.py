"""Helpers for tests and benchmarks: drive a lab from Python, count log lines by request id."""
