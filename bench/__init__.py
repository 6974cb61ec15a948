"""Benchmarks of the feedback service (`make bench`): figures, never pass/fail timings.

Every figure is a ratio against a baseline measured in the same run, because the
machines it runs on are noisy. See docs/performance.md.
"""
