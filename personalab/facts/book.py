"""FactBook: keeps the fact layer: adds facts, updates restated ones, supersedes with history."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from personalab.facts.extract import SINGLE, Candidate, extract
from personalab.facts.model import FactModel
from personalab.memory.store import MemoryStore
from personalab.records import Memory, NewMemory, Revision
from personalab.text.redaction import redact

# Thresholds on the cosine between a statement and a fact's vector (the mean of all the ways
# the fact was put). Chosen on the dev split of fact_paraphrases.yaml: restatements of one fact
# have a median cosine of 0.59; different facts never passed 0.49.
SAME_FACT = 0.5  # two facts without a shared slot are the same fact
SAME_SLOT = 0.4  # a fact with no topic matches one in the same slot
RESTATED = 0.7  # a slot update this close restates the old value rather than changing it
# A sentence with no slot that matches no fact alone is part of the fact another sentence of
# its turn restates, if at least this close to it: in "Music is a big part of my life; I play
# cello with a community orchestra" the second sentence restates the cello fact and the first
# adds no copy. Chosen on the dev split of fact_paraphrases.yaml (items with an extra copy:
# 19 at 0.2, 20 at 0.3 and 0.4).
PART_OF_TURN = 0.2
SLOTS_OF_MANY = {"people"}  # a brother has many facts: one topic, several facts


@dataclass(frozen=True)
class FactChange:
    """What happened to the fact layer because of one statement."""

    action: str  # added | restated | changed | removed
    fact: Memory
    previous: str = ""

    def to_json(self) -> dict:
        return {"action": self.action, "fact": self.fact.to_json(), "previous": self.previous}


class FactBook:
    """Applies candidate facts to a scope's fact layer (rules offline, or an LLM's decisions)."""

    join_loose = True  # a loose sentence may join the fact a sibling sentence restates

    def __init__(self, store: MemoryStore):
        self.store = store
        self.model = FactModel.load(store.embedder)  # None for an embedder it was not made for

    def learn(self, user: str, persona: str, turn: Memory) -> list[FactChange]:
        """Extract the facts a user turn states (rules and the fact model) and apply each."""
        if turn.role != "user" or turn.kind != "turn":
            return []
        judge = self.model.judge(self.store.embedder) if self.model else None
        candidates = extract(turn.text, judge)
        changes: list[FactChange | None] = []
        for candidate in candidates:  # a loose sentence waits for what its siblings restate
            loose = self.join_loose and len(candidates) > 1 and not candidate.slot
            changes.append(self.apply(user, persona, candidate, turn, add=not loose))
        restated = [c.fact for c in changes if c and c.action in ("restated", "changed")]
        return [
            change or self._part_of(user, persona, candidate, turn, restated)
            for candidate, change in zip(candidates, changes, strict=True)
        ]

    def _part_of(
        self, user: str, persona: str, candidate: Candidate, turn: Memory, restated: list[Memory]
    ) -> FactChange:
        """A loose sentence: part of a fact its turn restated if close to it, else a new fact."""
        if restated:
            vector = np.asarray(self.store.embedder.embed_one(candidate.text), dtype=np.float32)
            facts, vectors = self.store.scope(user, persona).facts()
            rows = {f.id: i for i, f in enumerate(facts)}
            near = [(float(vectors[rows[f.id]] @ vector), f) for f in restated if f.id in rows]
            similarity, fact = max(near, key=lambda p: p[0], default=(0.0, None))
            if fact is not None and similarity >= PART_OF_TURN:
                return FactChange("restated", fact, fact.text)  # its turn is already recorded
        return self.apply(user, persona, candidate, turn)

    def apply(
        self, user: str, persona: str, candidate: Candidate, turn: Memory, add: bool = True
    ) -> FactChange | None:
        """Add candidate as a new fact, or update the fact it restates or supersedes; with
        add=False, None instead of adding."""
        vector = self.store.embedder.embed_one(candidate.text)
        facts, vectors = self.store.scope(user, persona).facts()
        match = self.match(candidate, vector, facts, vectors)
        if match is None and not add:
            return None
        if match is None:
            item = NewMemory(
                candidate.text,
                "user",
                turn.session,
                kind="fact",
                created_at=turn.created_at,
                category=candidate.category,
                key=candidate.key,
                sources=(turn.id,),
            )
            return FactChange("added", self.store.remember(user, persona, [item])[0])
        old, similarity, by_slot = match
        action = "changed" if by_slot and similarity < RESTATED else "restated"
        return self.revise(user, persona, old, candidate.text, action, turn, candidate, vector)

    def revise(
        self,
        user: str,
        persona: str,
        old: Memory,
        text: str,
        action: str,
        turn: Memory | None = None,
        candidate: Candidate | None = None,
        vector: list[float] | None = None,
    ) -> FactChange | None:
        """Give a fact a new value; the old value goes into its history. None, and nothing
        written, if the fact was deleted or reworded since `old` was read (an LLM call takes
        seconds, and the user may edit meanwhile): their change stands.

        A restatement keeps the fact's vector as the mean of every way it was put, so the
        next paraphrase is recognized more easily; a change starts again from the new text.
        """
        if vector is None:  # embedded before the lock, as replace() would: recall need not wait
            vector = self.store.embedder.embed_one(redact(text).strip())
        with self.store.scope(user, persona).lock:  # the fact as it is now, not as first read
            if (current := self._unchanged(user, persona, old)) is None:
                return None
            old = current  # so a pin or privacy change made meanwhile is kept
            source = old.sources[-1] if old.sources else ""
            revision = Revision(old.text, old.changed_at, source, action)
            new = old.evolve(
                text=text,
                updated_at=turn.created_at if turn else time.time(),
                sources=old.sources + ((turn.id,) if turn else ()),
                history=old.history + (revision,),
                category=candidate.category if candidate else old.category,
                key=candidate.key if candidate else old.key,
            )
            if action == "restated":  # the mean of every wording; a change keeps its own
                vector = self._mean(user, persona, old, vector)
            return FactChange(action, self.store.replace(user, persona, new, vector), old.text)

    def _mean(self, user: str, persona: str, old: Memory, vector: list[float]) -> list[float]:
        facts, vectors = self.store.scope(user, persona).facts()
        at = next((i for i, f in enumerate(facts) if f.id == old.id), None)
        if at is None:
            return vector
        weight = 1  # the wordings since the fact last changed (a change is embedded afresh)
        for revision in reversed(old.history):
            if revision.change != "restated":
                break
            weight += 1
        mean = vectors[at] * weight + np.asarray(vector, dtype=np.float32)
        return (mean / np.linalg.norm(mean)).tolist()

    def remove(self, user: str, persona: str, fact: Memory) -> FactChange | None:
        """Delete fact; None if it is gone or was reworded since it was read (as revise)."""
        with self.store.scope(user, persona).lock:
            if (current := self._unchanged(user, persona, fact)) is None:
                return None
            self.store.delete(user, persona, [fact.id])
        return FactChange("removed", current, current.text)

    def _unchanged(self, user: str, persona: str, seen: Memory) -> Memory | None:
        """The fact as stored now, or None if it was deleted or reworded since `seen` was read
        (call under the scope's lock)."""
        current = self.store.get(user, persona, seen.id)
        return current if current is not None and current.text == seen.text else None

    @staticmethod
    def match(
        candidate: Candidate, vector: list[float], facts: list[Memory], vectors: np.ndarray
    ) -> tuple[Memory, float, bool] | None:
        """The fact this candidate restates or supersedes, the similarity, and if by slot.

        Same single-valued slot (home, diet, job...) or same slot and topic: the same fact
        (for a relative, who has many facts, only if similar enough). Same slot where one side
        has no topic: the same fact if similar enough. Different topics in one slot (two
        allergies) never merge. Otherwise only near-duplicates merge.
        """
        if not facts:
            return None
        sims = vectors @ np.asarray(vector, dtype=np.float32)
        best: tuple[Memory, float, bool] | None = None
        for fact, sim in sorted(zip(facts, sims.tolist(), strict=True), key=lambda p: -p[1]):
            slot, _, topic = fact.key.partition(":")
            if slot and slot == candidate.slot:
                if slot in SINGLE:
                    return fact, sim, True
                if topic and topic == candidate.topic:
                    if slot not in SLOTS_OF_MANY or sim >= SAME_SLOT:
                        return fact, sim, True
                elif (not topic or not candidate.topic) and sim >= SAME_SLOT:
                    return fact, sim, True
                continue
            if best is None and sim >= SAME_FACT:
                best = (fact, sim, False)
        return best
