"""Sentence embeddings: the bundled MiniLM by default, run by onnxruntime once exported."""

from personalab.lazy import exports

__all__ = ["Embedder"]
__getattr__, __dir__ = exports(
    __name__,
    {"Embedder": "embedder"},
)
