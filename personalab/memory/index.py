"""ScopeIndex: a scope's records mirrored in process: by id, by session, BM25, fact vectors."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

import numpy as np

from personalab.memory.keyword import KeywordIndex
from personalab.records import Memory


class ScopeIndex:
    """What recall reads on every turn, kept in step with Chroma by the store's writes.

    Chroma stays the source of truth: a scope is loaded from it once per process and every
    write, edit and delete made through the store updates both. Reads need no Chroma call
    but the one nearest-neighbour query.
    """

    def __init__(self, dimension: int):
        self.lock = threading.RLock()
        self.records: dict[str, Memory] = {}
        self._sessions: dict[str, list[tuple[float, str]]] = {}
        self.keyword = KeywordIndex()
        self._fact_ids: list[str] = []
        # the turns recall may return: all of them, and the user's alone (the default)
        self.turn_ids: set[str] = set()
        self.user_turn_ids: set[str] = set()
        self._fact_vectors = np.zeros((0, dimension), dtype=np.float32)
        # the vector of each fact's situations, in the same rows (zeros: it has none)
        self._situation_vectors = np.zeros((0, dimension), dtype=np.float32)
        self.dimension = dimension

    def __len__(self) -> int:
        return len(self.records)

    def add(
        self,
        memories: Iterable[Memory],
        vectors: Iterable[list[float] | None],
        situations: dict[str, list[float]] | None = None,
    ) -> None:
        """Mirror stored memories (a vector is needed for facts only, and one for the
        situations of those that have them); known ids are replaced."""
        pairs = list(zip(memories, vectors, strict=True))
        situations = situations or {}
        with self.lock:
            for memory, _ in pairs:
                if memory.id in self.records:
                    self._forget(memory.id)
            turns = []
            for memory, vector in pairs:
                self.records[memory.id] = memory
                if memory.kind == "fact":
                    self._add_fact(memory.id, vector, situations.get(memory.id))
                else:
                    self.turn_ids.add(memory.id)
                    if memory.role != "assistant":
                        self.user_turn_ids.add(memory.id)
                    bisect.insort(
                        self._sessions.setdefault(memory.session, []),
                        (memory.created_at, memory.id),
                    )
                    turns.append((memory.id, memory.text, memory.role == "assistant"))
            self.keyword.add(turns)

    def remove(self, ids: Iterable[str]) -> None:
        with self.lock:
            gone = [i for i in ids if i in self.records]
            turns = [i for i in gone if self.records[i].kind != "fact"]
            for memory_id in gone:
                self._forget(memory_id)
            self.keyword.remove(turns)

    def facts(self) -> tuple[list[Memory], np.ndarray]:
        """The scope's facts and their unit vectors (one row each, same order)."""
        with self.lock:
            return [self.records[i] for i in self._fact_ids], self._fact_vectors

    def facts_and_situations(self) -> tuple[list[Memory], np.ndarray, np.ndarray]:
        """facts(), and the unit vector of each fact's situations (a zero row: none)."""
        with self.lock:
            facts = [self.records[i] for i in self._fact_ids]
            return facts, self._fact_vectors, self._situation_vectors

    def session_turns(self, session: str, last: int | None = None) -> list[Memory]:
        """Every turn of a session (or its `last` few), oldest first."""
        with self.lock:
            order = self._sessions.get(session, [])
            if last is not None:
                order = order[max(0, len(order) - last) :]
            return [self.records[i] for _, i in order]

    def neighbours_of(
        self, memories: list[Memory], include_assistant: bool
    ) -> dict[str, tuple[Memory | None, Memory | None]]:
        """The turns just before and after each memory in its session (of the recallable
        roles), by id, under one lock."""
        records = self.records

        def step(order: list, i: int, delta: int) -> Memory | None:
            while 0 <= i < len(order):
                found = records[order[i][1]]
                if include_assistant or found.role != "assistant":
                    return found
                i += delta
            return None

        found = {}
        with self.lock:
            for memory in memories:
                order = self._sessions.get(memory.session, [])
                at = bisect.bisect_left(order, (memory.created_at, memory.id))
                found[memory.id] = (step(order, at - 1, -1), step(order, at + 1, 1))
        return found

    def _add_fact(
        self, memory_id: str, vector: list[float] | None, around: list[float] | None
    ) -> None:
        if vector is None:
            raise ValueError("a fact needs its vector in the scope index")
        row = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        self._fact_ids.append(memory_id)
        self._fact_vectors = np.vstack([self._fact_vectors, row])
        around_row = np.zeros_like(row) if around is None else np.asarray(around, np.float32)
        self._situation_vectors = np.vstack([self._situation_vectors, around_row.reshape(1, -1)])

    def _forget(self, memory_id: str) -> None:
        memory = self.records.pop(memory_id)
        if memory.kind == "fact":
            at = self._fact_ids.index(memory_id)
            del self._fact_ids[at]
            self._fact_vectors = np.delete(self._fact_vectors, at, axis=0)
            self._situation_vectors = np.delete(self._situation_vectors, at, axis=0)
            return
        self.turn_ids.discard(memory_id)
        self.user_turn_ids.discard(memory_id)
        order = self._sessions.get(memory.session, [])
        at = bisect.bisect_left(order, (memory.created_at, memory_id))
        if at < len(order) and order[at][1] == memory_id:
            del order[at]
