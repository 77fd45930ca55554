"""Prefix caching in process: a warm persona's prompt is mostly taken from llama.cpp's cache."""

import pytest

from personalab import (
    ChatMessage,
    ColumnKind,
    EmbeddedBackend,
    Engine,
    GenerationOptions,
    PersonaLibrary,
)
from personalab.evaluation.probes import load_probes
from personalab.prompts import CONSTRAINTS_POINTER
from personalab.records import NewMemory
from tests.conftest import LIBRARY

pytestmark = pytest.mark.slow  # the real bundled model

SHORT = GenerationOptions(max_tokens=4, temperature=0)
PROFILE = ChatMessage("system", "You talk to Lena, a vegan marathon runner in Berlin. " * 20)
OTHER = ChatMessage("system", "You are a helpful assistant.")


def ask(backend, system: ChatMessage, text: str):
    """One short reply; what the backend says it did with the prompt."""
    list(backend.stream([system, ChatMessage("user", text)], SHORT))
    return backend.last_prompt


@pytest.fixture(scope="module")
def cached():
    return EmbeddedBackend(prefix_cache_mb=512)


def test_a_second_message_with_the_same_profile_evaluates_only_what_is_new(cached):
    """The second prompt shares the profile with the first: only its new tokens are evaluated."""
    first = ask(cached, PROFILE, "What should I eat before a long run?")
    second = ask(cached, PROFILE, "Plan my week.")
    assert first.tokens > 200
    assert second.reused >= first.tokens - 20 and second.evaluated < 20


def test_the_profile_prefix_survives_another_prompt_in_between(cached):
    """After a generic prompt, the persona's prompt is served from the state cache."""
    ask(cached, PROFILE, "What should I eat before a long run?")
    ask(cached, OTHER, "Plan my week.")
    back = ask(cached, PROFILE, "Any snack ideas?")
    assert back.reused > back.tokens - 20


def test_without_the_state_cache_the_profile_is_evaluated_again():
    """With the cache off, a prompt in between costs the persona's whole prompt again."""
    plain = EmbeddedBackend(prefix_cache_mb=0)
    ask(plain, PROFILE, "What should I eat before a long run?")
    ask(plain, OTHER, "Plan my week.")
    back = ask(plain, PROFILE, "Any snack ideas?")
    assert back.evaluated > back.tokens - 20


def test_a_compare_reuses_the_personas_prompt_and_says_so(store, settings, cached):
    """Asked twice, the personalized column's prompt is mostly reused, and its stats say so."""
    lena = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    engine = Engine(store, cached, settings.replace(guard="off"))
    kinds = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
    for message in ("What should I cook tonight?", "And for lunch tomorrow?"):
        generic, personal = engine.compare("u", lena, message, "s", kinds, remember=False)
        generic.read(), personal.read()
    stats = personal.to_json()["stats"]
    assert stats["prompt_tokens"] > 100
    assert stats["reused_tokens"] > stats["prompt_tokens"] // 2


def test_the_state_cache_holds_many_prompts_within_its_capacity():
    """A saved state is the prompt's KV cells, without the logit rows llama-cpp-python also
    copies (never read after a load; about 30 MB a state here, 311 MB for Qwen, so the cache
    held one prompt): eight profiles fit in 40 MB and each comes back warm; a 10 MB cache keeps
    fewer, and never holds more than its capacity."""
    profiles = [ChatMessage("system", f"Profile number {i}. " * 30) for i in range(8)]
    roomy = EmbeddedBackend(prefix_cache_mb=40)
    for profile in profiles:
        ask(roomy, profile, "Hi")
    assert roomy.prefix_cache_entries == 8
    back = ask(roomy, profiles[0], "Hello again")
    assert back.reused > back.tokens - 20
    tight = EmbeddedBackend(prefix_cache_mb=10)
    for profile in profiles:
        ask(tight, profile, "Hi")
    assert 1 <= tight.prefix_cache_entries < 8 and tight.prefix_cache_bytes <= 10 << 20


def test_after_a_reply_the_next_message_evaluates_only_its_own_part(store, settings, cached):
    """Once the work after a reply is done (as while a person reads and types), the next
    message evaluates little more than itself, though the recent turns in its prompt have moved
    on (the oldest dropped): they were evaluated in between. Without warming, that message
    evaluates the turns that moved as well."""
    lena = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    said = ("What should I cook tonight?", "And for lunch tomorrow?", "Any snack for the run?")
    evaluated = {}
    for prewarm in (True, False):
        # no room for recalled turns: they are the message's own part, evaluated each time
        changed = settings.replace(
            guard="off", prewarm=prewarm, recent_turns=2, memory_token_budget=1
        )
        engine = Engine(store, cached, changed)
        cached.forget_prefixes()  # nothing from the other run
        for message in said:
            engine.reply("u", lena, message, f"warm-{prewarm}").read()
            evaluated[prewarm] = cached.last_prompt.evaluated
            engine.settle()
    last, before = (len(cached.tokenize(m + CONSTRAINTS_POINTER)) for m in said[2:0:-1])
    assert evaluated[True] <= last + 12
    assert evaluated[False] >= evaluated[True] + before


def test_a_persona_just_opened_is_warm_for_its_first_message(store, settings, cached):
    """Opening a persona (a page shown) queues the warming of its prompt: the first message
    then evaluates only its own turn; without it, the profile too."""
    lena = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    evaluated = {}
    for warm in (True, False):
        engine = Engine(store, cached, settings.replace(guard="off"))
        cached.forget_prefixes()
        if warm:
            engine.warm_up("opened", lena, f"s-{warm}")
            engine.settle()
        reply = engine.reply("opened", lena, "What should I cook tonight?", f"s-{warm}")
        reply.read()
        engine.settle()
        evaluated[warm] = cached.last_prompt.evaluated
    last_turn = len(cached.tokenize(reply.plan.messages[-1].content))
    assert evaluated[True] <= last_turn + 12 < evaluated[False] - 100


def test_a_persona_with_more_facts_than_fit_is_warm_too(store, settings, cached):
    """When not every fact fits, the instructions keep the same facts whatever is asked, so
    after warming the next message evaluates only its last turn (the facts picked for it, the
    message), not the profile and facts again."""
    lena = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    changed = settings.replace(guard="off", fact_token_budget=250, fact_extraction="rules")
    engine = Engine(store, cached, changed)
    told = [NewMemory(p.fact, "user", "history") for p in load_probes()[:40]]
    engine.remember("many", lena.id, told)
    cached.forget_prefixes()
    for message in ("What should I cook tonight?", "Which gift should I buy my sister?"):
        reply = engine.reply("many", lena, message, "s")
        reply.read()
        engine.settle()
    assert reply.plan.facts_left_out > 0  # the case this test is about
    last_turn = reply.plan.messages[-1].content
    assert "chosen for this message" in last_turn
    assert cached.last_prompt.evaluated <= len(cached.tokenize(last_turn)) + 12


def test_forgetting_the_prefixes_makes_the_next_prompt_cold(cached):
    """After forget_prefixes (a benchmark's cold start) the same profile is evaluated whole."""
    ask(cached, PROFILE, "What should I eat before a long run?")
    cached.forget_prefixes()
    assert cached.prefix_cache_entries == 0
    again = ask(cached, PROFILE, "Plan my week.")
    assert again.evaluated > again.tokens - 20
