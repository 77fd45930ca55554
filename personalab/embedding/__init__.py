"""Sentence embeddings: the bundled MiniLM by default, run by onnxruntime once exported."""

from personalab.lazy import exports

_WHERE = {"Embedder": "embedder"}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
