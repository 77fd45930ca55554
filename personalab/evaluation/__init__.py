"""Measurements: evaluations (`eval`), benchmarks (`bench`) and the report built from their runs."""

TASKS = (
    "recall",
    "preference",
    "winrate",
    "locomo",
    "group",
)  # what `eval` and the Evaluate page run
