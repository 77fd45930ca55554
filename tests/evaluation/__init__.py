"""Tests of evaluation and benchmarks."""
