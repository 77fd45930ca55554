"""Scope marks: facts about a user x persona scope itself (seeded, revision), kept in Chroma."""

from __future__ import annotations

from personalab.memory.side import SideCollection

COLLECTION = "personalab-scopes"


class ScopeMarks:
    """One record per (scope, name) in their own collection, so forgetting a scope's memories
    does not forget that it was seeded."""

    def __init__(self, client):
        self.records = SideCollection(client, COLLECTION, "the memory marks")

    def set(self, scope: str, name: str, value: float | str | bool) -> None:
        """Set a mark on a scope (replacing its earlier value)."""
        meta = {"scope": scope, "name": name, "value": value}
        self.records.put(f"{scope}/{name}", meta, name)

    def get(self, scope: str, name: str):
        """The mark's value, or None."""
        found = self.records.metadatas([f"{scope}/{name}"])
        return found[0]["value"] if found else None
