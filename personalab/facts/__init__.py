"""The fact layer: durable facts found in what a user says (rules, a small model, an LLM),
kept deduplicated with their history in the fact book."""

from personalab.lazy import exports

_WHERE = {"FactBook": "book", "FactChange": "book"}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
