"""The guard for the personalized reply, with the real bundled model: retry, steer, never hide."""

import time

import pytest

from personalab import ColumnKind, Engine, PersonaLibrary
from personalab.guard import GuardLog, GuardPolicy, guarded
from tests.conftest import LIBRARY

QUESTION = "Give me a quick dinner recipe with lots of protein."


@pytest.fixture
def lena():
    return PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")


@pytest.fixture
def engine(store, offline_backend, settings):
    return Engine(store, offline_backend, settings.replace(temperature=0.0, max_tokens=120))


def run(engine, persona, question, policy):
    recalled = engine.recall("u", persona, question, "s")
    plan = engine.plan(ColumnKind.PERSONALIZED, question, persona, recalled)
    log = GuardLog()
    start = time.perf_counter()
    chunks = list(
        guarded(
            engine.backend,
            plan.messages,
            engine.options,
            engine.checks_for(persona, recalled),
            policy,
            log,
        )
    )
    return "".join(chunks), log, time.perf_counter() - start


def test_a_failed_attempt_is_stopped_retried_and_reported(engine, lena):
    """Without steering the model names chicken; the guard stops that attempt, tries again with
    what went wrong, says so in the stream, and keeps the last attempt, flagged if it fails."""
    streamed, log, seconds = run(engine, lena, QUESTION, GuardPolicy(3, 60.0, steer=False))
    first = log.attempts[0]
    assert not first.report.passed and "chicken" in first.text.lower()
    assert first.stopped_early and len(log.attempts) >= 2
    assert "[guard: that attempt names" in streamed
    assert "attempt 1 names “Chicken”" in log.summary
    last = log.attempts[-1]
    assert last.report.passed or "flagged" in log.summary
    assert len(log.attempts) <= 3 and seconds < 60


def test_steering_keeps_forbidden_foods_out_of_the_first_attempt(engine, lena):
    """With token steering the bundled model answers a vegan's food questions without meat,
    dairy or eggs at the first attempt."""
    for question in (QUESTION, "What can I bake for my friend's birthday?"):
        _, log, _ = run(engine, lena, question, GuardPolicy(3, 60.0, steer=True))
        assert len(log.attempts) == 1 and log.attempts[0].report.passed, log.summary
        assert len(log.steered) > 500  # every form of meat, fish, dairy, egg, honey, gelatin


def test_the_guard_is_on_for_the_bundled_model_and_shows_in_the_reply(engine, lena, store):
    """By default the personalized reply of the bundled model is guarded; generic is not."""
    generic, personal = engine.compare(
        "u", lena, QUESTION, "s", [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
    )
    generic.read(), personal.read()
    assert generic.guard_log is None and personal.guard_log is not None
    data = personal.to_json()
    assert data["guard"]["attempts"] and data["checks"]["passed"] is personal.report.passed
    assert data["text"] == personal.guard_log.attempts[-1].text
    assert generic.report is not None  # generic is checked against the same constraints
