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


def test_the_state_cache_stays_within_its_capacity_counting_everything_it_holds():
    """Eight different prompts leave one state in a 40 MB cache: each state also holds the
    prompt's logits (about 30 MB here, 3 MB of KV), which llama-cpp-python's own count leaves
    out (the cache then kept every state until memory ran out)."""
    small = EmbeddedBackend(prefix_cache_mb=40)
    for i in range(8):
        ask(small, ChatMessage("system", f"Profile number {i}. " * 30), "Hi")
    assert small.prefix_cache_entries == 1


def test_forgetting_the_prefixes_makes_the_next_prompt_cold(cached):
    """After forget_prefixes (a benchmark's cold start) the same profile is evaluated whole."""
    ask(cached, PROFILE, "What should I eat before a long run?")
    cached.forget_prefixes()
    assert cached.prefix_cache_entries == 0
    again = ask(cached, PROFILE, "Plan my week.")
    assert again.evaluated > again.tokens - 20
