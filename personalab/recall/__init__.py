"""Recall: facts ranked by relevance, turns by fused dense + keyword + recency, in budget."""

from personalab.lazy import exports

__all__ = ["Recall", "recall", "RecallPolicy"]
__getattr__, __dir__ = exports(
    __name__,
    {"Recall": "ranking", "RecallPolicy": "ranking", "recall": "ranking"},
)
