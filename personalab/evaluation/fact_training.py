"""Training the fact model on the dev sentences: deterministic, numpy only, run by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

from personalab.embedding.embedder import Embedder
from personalab.facts.model import WEIGHTS

DATA = Path(__file__).parent / "data"
PENALTY = 0.25  # L2 on the weights (not the bias), as sklearn's C=4


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
