"""Scope marks: facts about a user x persona scope itself (seeded, revision), kept in Chroma."""

from __future__ import annotations

from personalab.chroma import reason
from personalab.errors import MemoryStoreError

COLLECTION = "personalab-scopes"


class ScopeMarks:
    """One record per (scope, name) in their own collection, so forgetting a scope's memories
    does not forget that it was seeded."""

    def __init__(self, client):
        self.client = client
        self._collection = None

    def _marks(self):
        if self._collection is None:
            try:
                self._collection = self.client.get_or_create_collection(
                    COLLECTION, embedding_function=None
                )
            except Exception as exc:
                raise MemoryStoreError(f"cannot open the memory store: {reason(exc)}") from exc
        return self._collection

    def set(self, scope: str, name: str, value: float | str | bool) -> None:
        try:
            self._marks().upsert(
                ids=[f"{scope}/{name}"],
                embeddings=[[0.0]],
                metadatas=[{"scope": scope, "name": name, "value": value}],
                documents=[name],
            )
        except Exception as exc:
            raise MemoryStoreError(f"could not save to memory: {reason(exc)}") from exc

    def get(self, scope: str, name: str):
        """The mark's value, or None."""
        try:
            found = self._marks().get(ids=[f"{scope}/{name}"], include=["metadatas"])
        except Exception as exc:
            raise MemoryStoreError(f"could not read memory: {reason(exc)}") from exc
        return found["metadatas"][0]["value"] if found["ids"] else None
