"""What the benchmarks share: the sample questions, a memory corpus, percentiles, progress."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from personalab.evaluation import locomo

LOCOMO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo10.json"
QUESTIONS = [
    "What should I cook tonight?",
    "Plan my Saturday for me.",
    "How can I save money on travel this month?",
    "Which book should I read next?",
    "What snack can I take on a long walk?",
    "How do I learn faster for my exam?",
    "Where should I go on holiday?",
    "What did I tell you about my family?",
]


def share(k: int, n: int) -> dict:
    """k of n as a rate with its 95 % Wilson interval."""
    from personalab.stage.votes import wilson

    low, high = wilson(k, n)
    return {"k": k, "n": n, "rate": round(k / n, 3) if n else 0.0,
            "ci": [round(low, 3), round(high, 3)]}  # fmt: skip


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    """p50 and p95 in milliseconds."""
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
    }


def corpus(n: int, data: Path | None) -> tuple[list[str], str]:
    """n memory texts: LoCoMo turns where the data set is present, then generated sentences."""
    texts: list[str] = []
    source = "generated sentences"
    if data is not None and data.is_file():
        texts = [text for conv in locomo.load(data) for _, text, _, _ in conv.turns]
        source = f"LoCoMo turns ({data.name}), then generated sentences"
    rng = random.Random(7)
    subjects = ["my sister", "I", "my coach", "our team", "my landlord", "the doctor"]
    verbs = ["visited", "recommended", "cooked", "cancelled", "booked", "studied"]
    objects = ["a vegan curry", "the museum", "a train to Leeds", "calculus notes", "a 10 km run"]
    times = ["on Monday", "last week", "in March", "yesterday", "this morning"]
    while len(texts) < n:
        parts = [rng.choice(x) for x in (subjects, verbs, objects, times)]
        texts.append(" ".join(parts) + f" (note {len(texts)})")
    return texts[:n], source
