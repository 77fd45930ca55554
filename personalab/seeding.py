"""Seed memories: a persona's earlier history, loaded the first time a user opens it; demo reset."""

from __future__ import annotations

import time

from personalab.engine import Engine
from personalab.facts.extract import Candidate, extract
from personalab.personas.model import Persona
from personalab.records import Memory, NewMemory
from personalab.reply import Saved

SEED_SESSION = "seed"
DAY = 86400.0


def seed(engine: Engine, user: str, persona: Persona, now: float | None = None) -> Saved:
    """Write the persona's seed into this user's memory, through the normal write path.

    Turns are stored with their age (days_ago) and teach facts as chat turns do; seed facts
    become facts directly, deduplicated like any other. The scope is marked as seeded.
    """
    now = time.time() if now is None else now
    store = engine.store
    turns = [
        NewMemory(t.text, t.role, SEED_SESSION, created_at=now - t.days_ago * DAY + i * 1e-3)
        for i, t in enumerate(persona.seed.turns)
    ]
    saved = engine.remember(user, persona.id, turns) if turns else Saved()
    for i, text in enumerate(t for t in persona.seed.facts if t.strip()):
        # A seed fact has no turn of its own: its source is the persona's seed.
        origin = Memory(f"seed-{i}", text, "user", now - DAY, SEED_SESSION, user, persona.id)
        candidate = (extract(text) or [Candidate(text.strip(), "identity", "")])[0]
        saved.facts.append(engine.factbook.apply(user, persona.id, candidate, origin))
    store.mark(user, persona.id, "seeded", now)
    return saved


def ensure_seeded(engine: Engine, user: str, persona: Persona) -> Saved | None:
    """Seed once per user x persona: never again after that, even after "forget all"."""
    if not persona.seed.size or engine.store.marked(user, persona.id, "seeded"):
        return None
    return seed(engine, user, persona)


def reset_demo(engine: Engine, user: str, persona: Persona) -> Saved:
    """Forget everything of this user x persona and restore exactly the persona's seed."""
    engine.store.forget_all(user, persona.id)
    return seed(engine, user, persona)
