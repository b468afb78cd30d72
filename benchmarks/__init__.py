"""Benchmarks: one script per benchmark (`bench_*.py`, each with a `main()`), results in RESULTS.md."""
