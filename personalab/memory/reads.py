"""Reading a scope from Chroma: turns, facts and their vectors (and their situations')."""

from __future__ import annotations

from personalab.embedding.embedder import Embedder
from personalab.records import Memory, situations_text

PAGE = 5000  # records per read when a scope is loaded


def read_scope(collection, embedder: Embedder) -> tuple[list[Memory], list[Memory], list]:
    """The scope's turns, its facts and the facts' vectors (Chroma errors are raised)."""
    turns: list[Memory] = []
    offset = 0
    while True:
        page = collection.get(
            where={"kind": "turn"}, include=["documents", "metadatas"], limit=PAGE, offset=offset
        )
        turns += [
            Memory.from_record(*r)
            for r in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ]
        offset += PAGE
        if len(page["ids"]) < PAGE:
            break
    found = _facts_with_vectors(collection, embedder)
    records = zip(found["ids"], found["documents"], found["metadatas"], strict=True)
    return turns, [Memory.from_record(*r) for r in records], found["embeddings"]


def _facts_with_vectors(collection, embedder: Embedder) -> dict:
    """The scope's facts with their vectors. Chroma 1.5.9's Python server fails to return
    stored vectors (its handler calls .tolist() on a list); then the texts are embedded."""
    what = ["documents", "metadatas"]
    try:
        facts = collection.get(where={"kind": "fact"}, include=[*what, "embeddings"])
        facts["embeddings"] = [list(v) for v in facts["embeddings"]]
    except Exception:
        facts = collection.get(where={"kind": "fact"}, include=what)
        facts["embeddings"] = embedder.embed(list(facts["documents"]))
    return facts


def situation_vectors(embedder: Embedder, memories: list[Memory]) -> dict[str, list[float]]:
    """One vector per fact that has situations: of them all, as one text."""
    facts = [m for m in memories if m.situations]
    if not facts:
        return {}
    vectors = embedder.embed([situations_text(m) for m in facts])
    return {m.id: v for m, v in zip(facts, vectors, strict=True)}
