"""Benchmarks as code (``python -m bench.engine --json``); results recorded in bench/results/."""
