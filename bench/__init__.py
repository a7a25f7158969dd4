"""Benchmarks. Every figure is reported as a ratio to a bare baseline measured in the same
run (machines are noisy); nothing here asserts on time."""
