"""LLM fact extraction: the model reads a user turn and the nearest facts, returns operations."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from personalab.errors import PersonaLabError
from personalab.facts.book import RESTATED, FactBook, FactChange
from personalab.facts.extract import CATEGORIES, Candidate
from personalab.models.backends import ChatBackend, ChatMessage, complete_json, json_answer
from personalab.records import Memory

NEAREST = 10  # existing facts shown to the model
ACTIONS = ("add", "update", "delete", "none")
SCHEMA = {
    "type": "object",
    "properties": {
        "operations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": list(ACTIONS)},
                    "fact": {"type": "string"},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "target": {"type": "string"},
                },
                "required": ["action", "fact", "category", "target"],
            },
        }
    },
    "required": ["operations"],
}
INSTRUCTIONS = (
    "You keep a short list of durable facts about a user: identity, health, diet, constraints, "
    "preferences, people, places, plans and wishes about answer style, true for weeks or longer. "
    "Read the user's new message and the facts already known. For each durable fact the "
    "message states, return one operation:\n"
    '- "add": a new fact; "target" is "".\n'
    '- "update": it restates or changes a known fact; "target" is that fact\'s id.\n'
    '- "delete": the user says a known fact is no longer true; "target" is its id.\n'
    "Write each fact as one short first-person sentence in the user's words. One-off events "
    '("I went to a concert yesterday"), questions and requests are not facts: return '
    '{"operations": []} when the message states no durable fact. Answer with JSON only.'
)


@dataclass(frozen=True)
class Operation:
    action: str
    fact: str
    category: str
    target: Memory | None


class LLMFactExtractor:
    """Fact extraction with a chat model and structured output, applied through a FactBook."""

    def __init__(self, backend: ChatBackend, factbook: FactBook, max_tokens: int = 400):
        self.backend = backend
        self.factbook = factbook
        self.max_tokens = max_tokens
        self.last_prompt: list[ChatMessage] = []
        self.last_answer = ""

    def learn(self, user: str, persona: str, turn: Memory) -> list[FactChange]:
        """Ask the model, validate its operations, apply them; raises PersonaLabError on failure."""
        if turn.role != "user" or turn.kind != "turn":
            return []
        known = self._nearest(user, persona, turn.text)
        if not self.backend.is_local:  # a model elsewhere never sees private facts
            known = [f for f in known if not f.private]
        ids = {f"f{i + 1}": fact for i, fact in enumerate(known)}
        listing = [{"id": i, "fact": f.text} for i, f in ids.items()]
        self.last_prompt = [
            ChatMessage("system", INSTRUCTIONS),
            ChatMessage(
                "user",
                json.dumps({"known_facts": listing, "new_message": turn.text}, ensure_ascii=False),
            ),
        ]
        self.last_answer = complete_json(
            self.backend, self.last_prompt, SCHEMA, "fact_operations", self.max_tokens
        )
        changes = []
        for op in parse_operations(self.last_answer, ids):
            if op.action == "add":
                candidate = Candidate(op.fact, op.category, "")
                changes.append(self.factbook.apply(user, persona, candidate, turn))
            elif op.action == "update" and op.target is not None:
                similarity = self._similarity(op.target.text, op.fact)
                action = "restated" if similarity >= RESTATED else "changed"  # as rules do
                candidate = Candidate(op.fact, op.category, *_split_key(op.target.key))
                changes.append(
                    self.factbook.revise(user, persona, op.target, op.fact, action, turn, candidate)
                )
            elif op.action == "delete" and op.target is not None:
                changes.append(self.factbook.remove(user, persona, op.target))
        return [c for c in changes if c is not None]  # None: the user changed it meanwhile

    def _nearest(self, user: str, persona: str, text: str) -> list[Memory]:
        facts, vectors = self.factbook.store.scope(user, persona).facts()
        if not facts:
            return []
        vector = np.asarray(self.factbook.store.embedder.embed_one(text), dtype=np.float32)
        order = np.argsort(-(vectors @ vector))[:NEAREST]
        return [facts[i] for i in order]

    def _similarity(self, a: str, b: str) -> float:
        va, vb = self.factbook.store.embedder.embed([a, b])
        return float(np.dot(va, vb))


def parse_operations(answer: str, known: dict[str, Memory]) -> list[Operation]:
    """The valid operations in a model's answer; PersonaLabError when it is not the JSON asked."""
    data = json_answer(answer, "the model's fact update")
    items = data.get("operations") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise PersonaLabError('the model\'s fact update had no "operations" list')
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        action = str(item.get("action", "")).strip().lower()
        fact = str(item.get("fact", "")).strip()
        category = str(item.get("category", "")).strip().lower()
        target = known.get(str(item.get("target", "")).strip())
        if action not in ACTIONS or action == "none":
            continue
        if action in ("add", "update") and not 3 <= len(fact) <= 300:
            continue
        if action in ("update", "delete") and target is None:
            continue  # an id the model made up
        found.append(Operation(action, fact, category if category in CATEGORIES else "", target))
    return found


def _split_key(key: str) -> tuple[str, str]:
    slot, _, topic = key.partition(":")
    return slot, topic
