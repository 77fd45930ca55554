"""FactModel: a logistic model on a statement's embedding that tells lasting facts from talk.

The offline extractor's rules know the phrasings they were written for; this model catches
facts put in other words ("Cheese is basically my love language"). It is asked only about
sentences the rules did not take that could state something lasting, and a one-sentence
turn's vector is still in the embedder's cache from the write, so most turns cost no new
embedding. Its weights, trained on the dev sentences only, ship in data/fact_model.json;
`python -m personalab.fact_model` trains them again, the same way every time.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path

import numpy as np
import yaml

from personalab.embedding import Embedder
from personalab.facts import Judge

WEIGHTS = Path(__file__).parent / "data" / "fact_model.json"
DATA = Path(__file__).parent / "evaluation" / "data"
# Both chosen on dev data (sentences held out from training, and the dev probes), then the
# model was trained on all of dev: a sentence the rules did not take is a fact from here up.
THRESHOLD = 0.8
PENALTY = 0.25  # L2 on the weights (not the bias), as sklearn's C=4


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


def examples() -> list[tuple[str, bool]]:
    """The dev split's labelled sentences and the dev probes' facts: (text, is a fact)."""
    sentences = yaml.safe_load((DATA / "fact_sentences.yaml").read_text(encoding="utf-8"))
    probes = yaml.safe_load((DATA / "preference_probes.yaml").read_text(encoding="utf-8"))
    dev = [s for s in sentences["sentences"] if s["split"] == "dev"]
    found = [(s["text"], s["label"] == "fact") for s in dev]
    return found + [(p["fact"], True) for p in probes["probes"] if p["split"] == "dev"]


def fit(x: np.ndarray, y: np.ndarray, penalty: float = PENALTY) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method: deterministic, numpy only."""
    x1 = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    w = np.zeros(x1.shape[1])
    ridge = np.full(x1.shape[1], penalty)
    ridge[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x1 @ w)))
        gradient = x1.T @ (p - y) + ridge * w
        hessian = (x1.T * (p * (1 - p))) @ x1 + np.diag(ridge + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def train(embedder: Embedder, path: Path = WEIGHTS) -> dict:
    """Fit on every dev example and write the weights with what they were trained for."""
    data = examples()
    x = np.asarray(embedder.embed([t for t, _ in data]))
    y = np.asarray([float(label) for _, label in data])
    weights, bias = fit(x, y)
    saved = {
        "embedder": embedder.name,
        "penalty": PENALTY,
        "examples": len(data),
        "facts": int(y.sum()),
        "bias": round(bias, 6),
        "weights": [round(float(w), 6) for w in weights],
    }
    path.write_text(json.dumps(saved) + "\n", encoding="utf-8")
    return saved


if __name__ == "__main__":
    done = train(Embedder())
    print(f"trained on {done['examples']} dev sentences ({done['facts']} facts)", file=sys.stderr)
