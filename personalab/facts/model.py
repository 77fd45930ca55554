"""FactModel: a logistic model on a statement's embedding that tells lasting facts from talk.

The offline extractor's rules know the phrasings they were written for; this model catches
facts put in other words ("Cheese is basically my love language"). It is asked only about
sentences the rules did not take that could state something lasting, and a one-sentence
turn's vector is still in the embedder's cache from the write, so most turns cost no new
embedding. Its weights, trained on the dev sentences only, ship in fact_model.json beside it;
`python -m personalab.evaluation.fact_training` trains them again, the same way every time.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

from personalab.embedding.embedder import Embedder
from personalab.facts.extract import Judge

WEIGHTS = Path(__file__).parent / "fact_model.json"
# Both chosen on dev data (sentences held out from training, and the dev probes), then the
# model was trained on all of dev: a sentence the rules did not take is a fact from here up.
THRESHOLD = 0.8


class FactModel:
    """P(a statement states a lasting fact), from its unit embedding."""

    def __init__(self, weights: np.ndarray, bias: float):
        self.weights = weights.astype(np.float32)
        self.bias = bias

    @classmethod
    def load(cls, embedder: Embedder, path: Path = WEIGHTS) -> FactModel | None:
        """The shipped model, or None when it was trained for another embedder."""
        return _load(path, embedder.name, embedder.dimension)

    def probability(self, vector: list[float]) -> float:
        z = float(self.weights @ np.asarray(vector, dtype=np.float32)) + self.bias
        return 1.0 / (1.0 + math.exp(-z))

    def judge(self, embedder: Embedder) -> Judge:
        """The verdicts `extract` asks for, one per sentence."""

        def verdicts(sentences: list[str]) -> list[bool]:
            return [self.probability(v) >= THRESHOLD for v in embedder.embed(sentences)]

        return verdicts


@functools.cache
def _load(path: Path, embedder: str, dimension: int) -> FactModel | None:
    """Parsed once per process (every Engine has a FactBook)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("embedder") != embedder or len(data["weights"]) != dimension:
        return None
    return FactModel(np.asarray(data["weights"]), data["bias"])
