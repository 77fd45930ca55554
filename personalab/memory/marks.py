"""Scope marks: facts about a user x persona scope itself (seeded, revision), kept in Chroma."""

from __future__ import annotations

import time
import uuid

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


RECHECK_S = 0.5  # with a shared server, how often a scope asks whether others changed it


class Revisions:
    """A shared server's revision token per scope: each change leaves a new one, and a process
    whose mirror reflects an older token than the server's loads the scope again."""

    def __init__(self, marks: ScopeMarks):
        self.marks = marks
        self._seen: dict[str, str | None] = {}  # the token each mirror reflects
        self._checked: dict[str, float] = {}

    def loaded(self, scope: str) -> None:
        """A mirror of scope is being loaded: it reflects the token there now."""
        self._seen[scope] = self.marks.get(scope, "revision")

    def changed(self, scope: str) -> None:
        """This process changed scope: leave a new token. If someone else had changed it
        since this mirror was loaded, the mirror is stale (it will be loaded again)."""
        before = self.marks.get(scope, "revision")
        token = uuid.uuid4().hex
        self.marks.set(scope, "revision", token)
        self._seen[scope] = token if before == self._seen.get(scope) else None

    def stale(self, scope: str) -> bool:
        """Whether another process changed scope since its mirror was loaded (asked at most
        every RECHECK_S)."""
        now = time.monotonic()
        if now - self._checked.get(scope, 0.0) < RECHECK_S:
            return False
        self._checked[scope] = now
        return self.marks.get(scope, "revision") != self._seen.get(scope)
