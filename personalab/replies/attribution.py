"""Sentences of an answer traced to a persona field, fact or memory; word differences."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from personalab.embedding.embedder import Embedder
from personalab.text.sentences import split_sentences

THRESHOLD = 0.45  # cosine at which a sentence is taken to draw on a source (see the note)


@dataclass(frozen=True)
class Source:
    """Something the personalized prompt held: a persona field, a fact or a memory."""

    label: str  # "Constraints", "fact", "memory 2026-11-03"
    text: str


@dataclass(frozen=True)
class Attributed:
    """One sentence of an answer, with the source it most likely draws on (or None)."""

    sentence: str
    source: Source | None
    similarity: float

    def to_json(self) -> dict:
        return {
            "sentence": self.sentence,
            "source": None if self.source is None else self.source.__dict__,
            "similarity": round(self.similarity, 3),
        }


def source_units(sources: list[Source]) -> list[Source]:
    """Long sources (a profile field with many items) split into their sentences or items."""
    units = []
    for source in sources:
        for piece in split_sentences(source.text, lines=False, semicolons=True):
            if len(piece) > 3:
                units.append(Source(source.label, piece))
    return units


def attribute(
    answer: str, sources: list[Source], embedder: Embedder, threshold: float = THRESHOLD
) -> list[Attributed]:
    """Each sentence of answer with its nearest source when the similarity passes threshold.

    Embedding similarity is a first approximation: it finds a sentence that restates or
    uses a source's content words, and misses one that applies a source without echoing it
    ("try tofu" for a vegan).
    """
    sentences = split_sentences(answer)
    units = source_units(sources)
    if not sentences:
        return []
    if not units:
        return [Attributed(s, None, 0.0) for s in sentences]
    vectors = np.asarray(embedder.embed(sentences + [u.text for u in units]), dtype=np.float32)
    sims = vectors[: len(sentences)] @ vectors[len(sentences) :].T
    found = []
    for i, sentence in enumerate(sentences):
        best = int(np.argmax(sims[i]))
        score = float(sims[i, best])
        found.append(Attributed(sentence, units[best] if score >= threshold else None, score))
    return found


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(op, words) runs turning before into after: op is equal, removed or added."""
    a, b = before.split(), after.split()
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("added", " ".join(b[j1:j2])))
    return runs
