"""Conversation memory on Chroma: the store, its client, the in-process mirror and keyword
index, marks, side collections, write batches and the one-writer folder lock."""

from personalab.lazy import exports

_WHERE = {"MemoryStore": "store", "open_client": "store", "open_server": "chroma"}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
