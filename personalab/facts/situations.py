"""Where a fact matters: a local model writes a few short situations for a stored fact, once,
off the reply's path, so recall can find it for a message that shares no words with it
(document expansion, as doc2query does for search)."""

from __future__ import annotations

import json

from personalab.errors import PersonaLabError
from personalab.models.backends import ChatBackend, ChatMessage, complete_json, json_answer
from personalab.records import MAX_SITUATION_CHARS, Memory

WANTED = 5  # situations asked for per fact
SCHEMA = {
    "type": "object",
    "properties": {
        "situations": {
            "type": "array",
            "items": {"type": "string", "maxLength": 60},
            "minItems": 1,
            "maxItems": WANTED,
        }
    },
    "required": ["situations"],
}
INSTRUCTIONS = (
    "You help an assistant remember a fact about its user at the right moment. Given one "
    "fact, list up to five requests or occasions in which an assistant that forgot this fact "
    "would give an unsuitable answer: two to six words each, tied to this fact, not ones "
    "that fit anyone. Answer with JSON only."
)
# One worked example, as a turn of its own (small models copy an example inside the rules).
EXAMPLE = ("I don't drink alcohol.", ["choosing wine for dinner", "a cocktail party",
           "drinks with colleagues", "a toast at a wedding", "a brewery tour"])  # fmt: skip


def write_situations(backend: ChatBackend, fact: Memory) -> tuple[str, ...]:
    """A few short situations where fact matters; PersonaLabError when the model's answer
    is not what was asked for. A private fact is never sent to a model off this machine."""
    if fact.private and not backend.is_local:
        raise PersonaLabError("a private fact is not sent to a model off this machine")
    messages = [
        ChatMessage("system", INSTRUCTIONS),
        ChatMessage("user", f"The fact: {EXAMPLE[0]}"),
        ChatMessage("assistant", json.dumps({"situations": EXAMPLE[1]})),
        ChatMessage("user", f"The fact: {fact.text}"),
    ]
    raw = complete_json(backend, messages, SCHEMA, "situations", max_tokens=120)
    answer = json_answer(raw, "the situations answer")
    found = answer.get("situations") if isinstance(answer, dict) else None
    if not isinstance(found, list):
        raise PersonaLabError("the situations answer had no list of situations")
    said, copied = fact.text.lower(), {e.lower() for e in EXAMPLE[1]}
    kept = [
        " ".join(s.split())[:MAX_SITUATION_CHARS]
        for s in found
        if isinstance(s, str)
        and s.strip()
        and s.strip().lower() not in said
        and s.strip().lower() not in copied  # the example repeated, not an answer
    ]
    return tuple(dict.fromkeys(kept))[:WANTED]
