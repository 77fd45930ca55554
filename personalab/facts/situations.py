"""Where a fact matters: a local model writes a few short situations for a stored fact, once,
off the reply's path, so recall can find it for a message that shares no words with it
(document expansion, as doc2query does for search)."""

from __future__ import annotations

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
    "A user told their assistant one fact about themselves. List up to five everyday "
    "situations in which the assistant must remember this fact to answer well: what the user "
    "might ask about, in two to five words each, without repeating the fact. Example: for "
    '"I don\'t drink alcohol" answer {"situations": ["a party", "choosing a gift", "dinner '
    'out", "a toast at a wedding", "a bar with colleagues"]}. Answer with JSON only.'
)


def write_situations(backend: ChatBackend, fact: Memory) -> tuple[str, ...]:
    """A few short situations where fact matters; PersonaLabError when the model's answer
    is not what was asked for. A private fact is never sent to a model off this machine."""
    if fact.private and not backend.is_local:
        raise PersonaLabError("a private fact is not sent to a model off this machine")
    messages = [
        ChatMessage("system", INSTRUCTIONS),
        ChatMessage("user", f"The fact: {fact.text}"),
    ]
    raw = complete_json(backend, messages, SCHEMA, "situations", max_tokens=120)
    answer = json_answer(raw, "the situations answer")
    found = answer.get("situations") if isinstance(answer, dict) else None
    if not isinstance(found, list):
        raise PersonaLabError("the situations answer had no list of situations")
    said = fact.text.lower()
    kept = [
        " ".join(s.split())[:MAX_SITUATION_CHARS]
        for s in found
        if isinstance(s, str) and s.strip() and s.strip().lower() not in said
    ]
    return tuple(dict.fromkeys(kept))[:WANTED]
