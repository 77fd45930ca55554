"""LLM fact extraction: structured output from a real local server, and strict parsing."""

import json

import pytest

from personalab import FactBook, NewMemory, OpenAIBackend, PersonaLabError, PersonaLibrary
from personalab.compose import engine_from_settings
from personalab.facts.llm import LLMFactExtractor, parse_operations
from personalab.models.backends import structured_form
from personalab.records import Memory
from tests.conftest import LIBRARY
from tests.helpers import ScriptedBackend

KNOWN = {"f1": Memory("id-1", "I live in Leeds.", "user", 1.0, "s", "u", "p", kind="fact")}


def test_operations_are_parsed_and_made_up_ids_dropped():
    """Valid operations are kept; unknown actions, invented targets and empty facts are not."""
    answer = json.dumps(
        {
            "operations": [
                {"action": "add", "fact": "I'm vegan.", "category": "diet", "target": ""},
                {
                    "action": "update",
                    "fact": "I moved to York.",
                    "category": "place",
                    "target": "f1",
                },
                {"action": "delete", "fact": "", "category": "place", "target": "f9"},
                {"action": "shout", "fact": "x", "category": "diet", "target": ""},
                {"action": "add", "fact": "", "category": "diet", "target": ""},
                "not an object",
            ]
        }
    )
    ops = parse_operations(answer, KNOWN)
    assert [(o.action, o.fact) for o in ops] == [
        ("add", "I'm vegan."),
        ("update", "I moved to York."),
    ]
    assert ops[1].target is KNOWN["f1"]


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("I think you are vegan", "not valid JSON"),
        ('{"facts": []}', 'no "operations" list'),
        ("[1, 2]", 'no "operations" list'),
    ],
)
def test_malformed_answers_are_refused_with_a_reason(answer, reason):
    """An answer that is not the JSON asked for raises a clear error instead of storing junk."""
    with pytest.raises(PersonaLabError, match=reason):
        parse_operations(answer, KNOWN)


def test_fenced_json_is_accepted():
    """Models that wrap JSON in a Markdown fence are still understood."""
    answer = '```json\n{"operations": []}\n```'
    assert parse_operations(answer, KNOWN) == []


def test_the_models_operations_are_applied_through_the_fact_book(store):
    """An add and an update from the model become a new fact and a changed one, each tied to
    the turn that said it; the model was shown the turn and the known fact."""
    book = FactBook(store)
    said = store.remember("ana", "p", [NewMemory("I live in Leeds.", "user", "s")])[0]
    book.learn("ana", "p", said)
    (leeds,) = store.list("ana", "p", kind="fact")
    turn = store.remember("ana", "p", [NewMemory("I'm vegan, and I moved to York.", "user", "s")])[
        0
    ]
    ops = [
        {"action": "add", "fact": "I'm vegan.", "category": "diet", "target": ""},
        {"action": "update", "fact": "I live in York.", "category": "place", "target": "f1"},
    ]
    backend = ScriptedBackend([json.dumps({"operations": ops})])
    changes = LLMFactExtractor(backend, book).learn("ana", "p", turn)
    assert sorted(c.action for c in changes) == ["added", "changed"]
    facts = {f.text: f for f in store.list("ana", "p", kind="fact")}
    assert set(facts) == {"I'm vegan.", "I live in York."}
    assert all(turn.id in f.sources for f in facts.values())
    shown = backend.calls[0][0][1].content
    assert "I'm vegan, and I moved to York." in shown and leeds.text in shown


@pytest.mark.slow
def test_extraction_through_a_real_server_uses_its_structured_form(llama_server, store):
    """llama.cpp's server is asked in the schema form it accepts (a json_object with the
    schema); its answer parses into operations or the error names the JSON problem."""
    backend = OpenAIBackend("smollm2", base_url=llama_server, timeout_s=120)
    extractor = LLMFactExtractor(backend, FactBook(store), max_tokens=160)
    turn = store.remember("ana", "p", [NewMemory("I'm vegan and I live in Berlin.", "user", "s")])[
        0
    ]
    try:
        changes = extractor.learn("ana", "p", turn)
    except PersonaLabError as exc:  # the small model may still run out of tokens mid-JSON
        assert "JSON" in str(exc) or "operations" in str(exc)
        changes = []
    assert structured_form(backend) == "json_object" and extractor.last_answer
    assert "I'm vegan and I live in Berlin." in extractor.last_prompt[1].content
    stored = store.list("ana", "p", kind="fact")
    assert len(stored) == sum(c.action == "added" for c in changes)


def test_a_model_off_this_machine_is_never_shown_private_facts(store):
    """The known facts sent with a new message leave out private ones when the model is
    elsewhere (a refused port stands in for one), and keep them for a local model."""
    import socket

    from personalab import BackendError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # nothing listens once it closes
    book = FactBook(store)
    facts = [
        store.remember("ana", "p", [NewMemory(t, "user", "s")])[0]
        for t in ("I live in Leeds.", "I'm allergic to peanuts.")
    ]
    for turn in facts:
        book.learn("ana", "p", turn)
    allergy = next(f for f in store.list("ana", "p", kind="fact") if "peanuts" in f.text)
    store.set_private("ana", "p", [allergy.id], True)
    backend = OpenAIBackend("m", base_url=url, timeout_s=5, max_retries=0)
    said = store.remember(
        "ana", "p", [NewMemory("I moved to York; nuts are fine now.", "user", "s")]
    )[0]
    shown = {}
    for local in (True, False):
        backend.is_local = local
        extractor = LLMFactExtractor(backend, book)
        with pytest.raises(BackendError):
            extractor.learn("ana", "p", said)
        shown[local] = extractor.last_prompt[1].content
    assert "peanuts" in shown[True] and "Leeds" in shown[True]
    assert "peanuts" not in shown[False] and "Leeds" in shown[False]


def test_facts_come_from_the_fact_model_the_settings_name(store, settings):
    """With PERSONALAB_FACT_MODEL set, the reply comes from the chat model and the facts of
    the user's turn from the fact model, after the reply."""
    built = []

    def build(name, s, n_ctx=0):
        ops = [{"action": "add", "fact": "I'm vegan.", "category": "diet", "target": ""}]
        built.append(ScriptedBackend([json.dumps({"operations": ops})], name=name))
        return built[-1]

    chat = ScriptedBackend(["Try a lentil curry."], name="chat")
    chosen = settings.replace(fact_extraction="llm", fact_model="qwen2.5-coder-1.5b", guard="off")
    engine = engine_from_settings(chosen, store, chat, build)
    persona = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    reply = engine.reply("ana", persona, "I'm vegan. Dinner ideas?", "s")
    assert reply.read() == "Try a lentil curry."
    reply.saved.wait(60)
    assert [f.text for f in store.list("ana", persona.id, kind="fact")] == ["I'm vegan."]
    assert [b.name for b in built] == ["qwen2.5-coder-1.5b"] and len(built[0].calls) == 1
    assert "I'm vegan. Dinner ideas?" in built[0].calls[0][0][1].content
    assert len(chat.calls) == 1  # the chat model only answered
