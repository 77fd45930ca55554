"""The engine end to end with the real embedder, real Chroma and the real bundled model."""

import pytest

from personalab import ColumnKind, Engine, MemoryStore, PersonaLibrary, open_client
from tests.conftest import LIBRARY
from tests.helpers import DiskClient

pytestmark = pytest.mark.slow  # the real bundled model


@pytest.fixture
def persona():
    return PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")


@pytest.fixture
def engine(store, offline_backend, settings):
    return Engine(store, offline_backend, settings)


def test_an_earlier_fact_is_recalled_into_a_later_prompt(
    tmp_path, embedder, offline_backend, settings, persona
):
    """A fact told in one process enters a reply's prompt in another, with its source turn."""
    import subprocess
    import sys

    folder = tmp_path / "mem"
    code = (
        "from personalab import *; "
        f"s = MemoryStore(open_client({str(folder)!r}), Embedder()); "
        "e = Engine(s, None, Settings.load(secrets_path=None)); "
        "e.remember('ana', 'lena-vegan-marathoner', [NewMemory('I am allergic to peanuts.', "
        "'user', 'monday'), NewMemory('My favourite colour is green.', 'user', 'monday')])"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    later = Engine(MemoryStore(open_client(folder), embedder), offline_backend, settings)
    reply = later.reply("ana", persona, "Which nuts can I snack on after my long run?", "friday")
    reply.read()

    facts = [f.memory.text for f in reply.plan.facts]
    assert facts[0] == "I am allergic to peanuts." and len(facts) == 2
    assert '"I am allergic to peanuts."' in reply.plan.messages[0].content
    source = later.store.get("ana", persona.id, reply.plan.facts[0].memory.sources[0])
    assert source.text == "I am allergic to peanuts." and source.session == "monday"


def test_a_reply_streams_in_chunks_and_records_its_timings(engine, persona):
    """The real model's reply arrives in several chunks; the reply records when the first came."""
    reply = engine.reply("ana", persona, "Which nuts can I snack on after my long run?", "s")
    chunks = list(reply)
    assert len(chunks) > 1 and "".join(chunks).strip()
    assert reply.stats.chunks == len(chunks) and reply.stats.first_token_s > 0


def test_each_exchange_is_remembered_with_role_time_and_session(engine, store, persona):
    """A reply writes the user turn and the assistant turn, tagged with the session."""
    reply = engine.reply("ana", persona, "I train every morning at 6.", "s1")
    text = reply.read()
    stored = store.list("ana", persona.id, kind="turn")
    assert [(m.role, m.session) for m in stored] == [("user", "s1"), ("assistant", "s1")]
    assert stored[0].text == "I train every morning at 6." and stored[1].text == text
    assert stored[0].created_at <= stored[1].created_at
    assert [m.id for m in reply.saved.turns] == [m.id for m in stored]
    (fact,) = store.list("ana", persona.id, kind="fact")  # a habit: a durable fact
    assert fact.text == "I train every morning at 6." and fact.sources == (stored[0].id,)
    # Iterating a finished reply again replays it: no second generation, no second write.
    assert "".join(reply) == text and store.count("ana", persona.id) == 3


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
    assert generic.plan.memories == [] and generic.plan.facts == []
    assert "vegan" not in generic.plan.messages[0].content.lower()
    assert "vegan" in personal.plan.messages[0].content.lower()
    assert personal.plan.facts[0].memory.text == "I am allergic to peanuts."
    assert len(store.list("ana", persona.id, session="s1")) == 2


def test_remember_false_writes_nothing(engine, store, persona):
    """An exchange asked not to be remembered leaves the store untouched."""
    engine.reply("ana", persona, "Secret plans", "s1", remember=False).read()
    assert store.count("ana", persona.id) == 0


def test_a_failed_memory_write_keeps_the_reply(
    tmp_path, embedder, offline_backend, settings, persona
):
    """When the disk is full the reply is still delivered, with the reason it was not saved."""
    store = MemoryStore(DiskClient(open_client(tmp_path / "m"), room=0), embedder)
    reply = Engine(store, offline_backend, settings).reply("ana", persona, "hello", "s")
    assert reply.read().strip()
    assert "disk is full" in reply.memory_error


def test_a_preference_is_recalled_among_hundreds_of_ordinary_turns(store, settings, persona):
    """A constraint said once, then 300 ordinary turns: a question it matters for recalls it."""
    from personalab import NewMemory
    from personalab.evaluation.probes import load_turns

    engine = Engine(store, None, settings)
    engine.remember(
        "ana",
        persona.id,
        [
            NewMemory(
                "I'm lactose intolerant, so milk and cream leave me doubled over.", "user", "s0"
            )
        ],
    )
    for i, text in enumerate(load_turns()[:300]):
        engine.remember("ana", persona.id, [NewMemory(text, "user", f"s{1 + i // 10}")])
    recalled = engine.recall("ana", persona, "Give me a recipe for a creamy pasta bake.", "now")
    plan = engine.plan(
        ColumnKind.PERSONALIZED, "Give me a recipe for a creamy pasta bake.", persona, recalled
    )
    assert any("lactose" in f.memory.text for f in plan.facts)
    assert "lactose intolerant" in plan.messages[0].content


def test_llm_fact_extraction_failing_keeps_the_turn_and_says_so(store, settings, persona):
    """When the fact-extracting model is unreachable, the turn is stored and the reason shown."""
    from personalab import NewMemory, OpenAIBackend
    from personalab.evaluation.serving import free_port

    down = OpenAIBackend("m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    engine = Engine(store, down, settings.replace(fact_extraction="llm"))
    saved = engine.remember("ana", persona.id, [NewMemory("I'm vegan.", "user", "s")])
    assert [m.text for m in store.list("ana", persona.id)] == ["I'm vegan."]
    assert "cannot reach" in saved.facts_error and saved.facts == []


def test_a_new_turn_and_its_facts_are_sized_for_the_prompt_when_written(
    engine, persona, offline_backend, monkeypatch
):
    """The model's tokenizer sizes what was just written while the user reads the reply, so
    the next prompt asks it only about the new message."""
    from personalab import NewMemory
    from personalab.prompts import EPISODES_HEADER, FACTS_HEADER
    from personalab.recall.ranking import Recall

    engine.plan(ColumnKind.PERSONALIZED, "Hello", persona, Recall([], [], []))  # the profile
    said = "I'm allergic to sesame. Which bakery near the office should I try?"
    engine.remember("ana", persona.id, [NewMemory(said, "user", "s1")])
    engine.remember("ana", persona.id, [NewMemory("Try Kruste on Main Street.", "assistant", "s1")])
    asked: list[str] = []
    tokenize = offline_backend.tokenize
    monkeypatch.setattr(offline_backend, "tokenize", lambda t: asked.append(t) or tokenize(t))
    message = "And for a birthday cake?"
    recalled = engine.recall("ana", persona, message, "s1")
    plan = engine.plan(ColumnKind.PERSONALIZED, message, persona, recalled)
    assert any("sesame" in f.memory.text for f in plan.facts)
    assert [t.text for t in plan.history] == [said, "Try Kruste on Main Street."]
    headers = (FACTS_HEADER, EPISODES_HEADER)  # the same in every prompt: counted once
    assert asked and all(message in t or t in headers for t in asked)


def test_the_score_formula_shown_is_the_one_the_recall_uses(store, settings, persona):
    """The prompt's details state the recall policy's own weights, so a changed weight shows."""
    from dataclasses import replace

    from personalab.recall.ranking import Recall

    engine = Engine(store, None, settings)
    engine.policy = replace(engine.policy, dense_weight=0.4)
    plan = engine.plan(ColumnKind.PERSONALIZED, "Hello", persona, Recall([], [], []))
    assert "0.4 × dense + 0.6 × keyword" in plan.to_json()["score_formula"]
