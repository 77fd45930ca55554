"""Measurements: evaluations (`eval`), benchmarks (`bench`) and the report built from their runs."""

TASKS = ("recall", "preference", "winrate", "locomo")  # what `eval` and the Evaluate page run
