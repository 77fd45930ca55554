"""LLM fact extraction: structured output from a real local server, and strict parsing."""

import json

import pytest

from personalab import FactBook, NewMemory, OpenAIBackend, PersonaLabError
from personalab.facts.llm import LLMFactExtractor, parse_operations
from personalab.records import Memory

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


def test_extraction_against_a_real_server_applies_only_valid_operations(llama_server, store):
    """The bundled model behind llama.cpp's server answers in the schema; whatever it says is
    applied through the fact book (its verdicts mean little, the plumbing must hold)."""
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
    else:  # grammar-constrained output: the answer is the schema's JSON
        assert isinstance(json.loads(extractor.last_answer)["operations"], list)
    assert backend._json_form == 1  # llama.cpp's server takes the schema in a json_object
    assert extractor.last_prompt[0].role == "system"
    assert "I'm vegan and I live in Berlin." in extractor.last_prompt[1].content
    for change in changes:
        assert change.fact.kind == "fact" and turn.id in change.fact.sources
    assert len(store.list("ana", "p", kind="fact")) == sum(c.action == "added" for c in changes)


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
