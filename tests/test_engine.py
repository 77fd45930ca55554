"""The engine end to end with the real embedder, real Chroma and the real bundled model."""

import pytest

from personalab import ColumnKind, Engine, MemoryStore, PersonaLibrary, open_client
from tests.conftest import LIBRARY


@pytest.fixture
def persona():
    return PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")


@pytest.fixture
def engine(store, offline_backend, settings):
    return Engine(store, offline_backend, settings)


def test_an_earlier_fact_is_recalled_into_a_later_prompt(
    tmp_path, embedder, offline_backend, settings, persona
):
    """'I am allergic to peanuts' is stored, survives reopening, and shapes a later prompt."""
    folder = tmp_path / "mem"
    first = Engine(MemoryStore(open_client(folder), embedder), offline_backend, settings)
    assert first.reply("ana", persona, "I am allergic to peanuts.", "monday").read()
    first.reply("ana", persona, "My favourite colour is green.", "monday").read()

    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # drop the process's cached client: a real reopen
    later = Engine(MemoryStore(open_client(folder), embedder), offline_backend, settings)
    reply = later.reply("ana", persona, "Which nuts can I snack on after my long run?", "friday")
    text = reply.read()

    recalled = [m.memory.text for m in reply.plan.memories]
    assert recalled[0] == "I am allergic to peanuts."
    assert '"I am allergic to peanuts."' in reply.plan.messages[0].content
    assert text.strip()
    assert reply.stats.first_token_s > 0 and reply.stats.chunks > 1


def test_each_exchange_is_remembered_with_role_time_and_session(engine, store, persona):
    """A reply writes the user turn and the assistant turn, tagged with the session."""
    reply = engine.reply("ana", persona, "I train every morning at 6.", "s1")
    text = reply.read()
    stored = store.list("ana", persona.id)
    assert [(m.role, m.session) for m in stored] == [("user", "s1"), ("assistant", "s1")]
    assert stored[0].text == "I train every morning at 6." and stored[1].text == text
    assert stored[0].created_at <= stored[1].created_at
    assert [m.id for m in reply.saved] == [m.id for m in stored]
    # Iterating a finished reply again replays it: no second generation, no second write.
    assert "".join(reply) == text and store.count("ana", persona.id) == 2


def test_recent_turns_of_the_session_enter_as_chat_messages(engine, persona):
    """The next reply in a session sees the previous exchange as chat history."""
    engine.reply("ana", persona, "My race is in Berlin.", "s1").read()
    reply = engine.reply("ana", persona, "How should I taper?", "s1")
    roles = [m.role for m in reply.plan.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert reply.plan.messages[1].content == "My race is in Berlin."
    # Turns already in the history are not repeated as recalled memories.
    assert all(m.memory.text != "My race is in Berlin." for m in reply.plan.memories)


def test_compare_answers_generic_and_personalized_and_remembers_once(engine, store, persona):
    """Compare gives both columns from one recall; only the personalized exchange is stored."""
    engine.reply("ana", persona, "I am allergic to peanuts.", "s0").read()
    generic, personal = engine.compare(
        "ana",
        persona,
        "Suggest a snack with peanuts?",
        "s1",
        [ColumnKind.GENERIC, ColumnKind.PERSONALIZED],
    )
    assert generic.read().strip() and personal.read().strip()
    assert generic.plan.memories == [] and "vegan" not in generic.plan.messages[0].content.lower()
    assert "vegan" in personal.plan.messages[0].content.lower()
    assert personal.plan.memories[0].memory.text == "I am allergic to peanuts."
    assert len(store.list("ana", persona.id, session="s1")) == 2


def test_remember_false_writes_nothing(engine, store, persona):
    """An exchange asked not to be remembered leaves the store untouched."""
    engine.reply("ana", persona, "Secret plans", "s1", remember=False).read()
    assert store.count("ana", persona.id) == 0


def test_a_failed_memory_write_keeps_the_reply(
    tmp_path, embedder, offline_backend, settings, persona
):
    """When the disk is full the reply is still delivered, with the reason it was not saved."""
    from tests.test_memory import FullDiskClient

    store = MemoryStore(FullDiskClient(open_client(tmp_path / "m")), embedder)
    reply = Engine(store, offline_backend, settings).reply("ana", persona, "hello", "s")
    assert reply.read().strip()
    assert "disk is full" in reply.memory_error
