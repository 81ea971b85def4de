"""Benchmarks: `make bench` (python -m bench [NAME ...]) runs every bench/bench_*.py module."""
