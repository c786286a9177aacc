"""Benchmarks: synthetic organisations and the measurements in docs/benchmarks.md."""
