"""Recall: facts ranked by relevance, turns by fused dense + keyword + recency, in budget."""

from personalab.lazy import exports

_WHERE = {"Recall": "ranking", "RecallPolicy": "ranking", "recall": "ranking"}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
