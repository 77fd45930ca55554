"""Seed memories: loaded once per user x persona, recalled by its probes, reset exactly."""

import pytest

from personalab import ColumnKind, Engine, PersonaLibrary
from personalab.seeding import SEED_SESSION, ensure_seeded, reset_demo
from tests.conftest import LIBRARY

SHIPPED = PersonaLibrary(LIBRARY).load()[0]


@pytest.fixture
def engine(store, settings):
    return Engine(store, None, settings)


@pytest.mark.parametrize("persona", SHIPPED, ids=[p.id for p in SHIPPED])
def test_a_shipped_persona_seed_is_recalled_by_its_probes(engine, persona):
    """Every shipped persona's seed reaches the prompt for each of its probe questions."""
    assert persona.seed.size and persona.probes, persona.id
    ensure_seeded(engine, "ana", persona)
    for probe in persona.probes:
        recalled = engine.recall("ana", persona, probe.question, "demo")
        plan = engine.plan(ColumnKind.PERSONALIZED, probe.question, persona, recalled)
        prompt = " ".join(m.content for m in plan.messages).lower()
        assert probe.recalls.lower() in prompt, (persona.id, probe.question)


def test_seeding_happens_once_and_never_after_forget_all(engine, store):
    """The seed loads the first time; after the user forgets everything it does not come back."""
    lena = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    first = ensure_seeded(engine, "ana", lena)
    stored = store.list("ana", lena.id)
    turns = [m for m in stored if m.kind == "turn"]
    assert len(turns) == len(lena.seed.turns) and {m.session for m in turns} == {SEED_SESSION}
    assert first is not None and any(m.kind == "fact" for m in stored)
    assert ensure_seeded(engine, "ana", lena) is None
    store.forget_all("ana", lena.id)
    assert ensure_seeded(engine, "ana", lena) is None and store.count("ana", lena.id) == 0
    assert ensure_seeded(engine, "bob", lena) is not None  # another user gets the seed


def test_reset_demo_restores_exactly_the_seed_state(engine, store):
    """After chatting, a reset leaves the same turns and facts as a fresh seed, and no more."""
    lena = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    ensure_seeded(engine, "ana", lena)

    def state():
        return sorted((m.kind, m.role, m.text) for m in store.list("ana", lena.id))

    seeded = state()
    from personalab import NewMemory

    engine.remember("ana", lena.id, [NewMemory("I moved to Hamburg.", "user", "chat")])
    assert state() != seeded
    reset_demo(engine, "ana", lena)
    assert state() == seeded
