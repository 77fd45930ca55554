"""The guard with the real bundled model: only what holds on any CPU (the stop-and-retry logic on
fixed texts lives in test_guard_logic.py)."""

import pytest

from personalab import ColumnKind, Engine, PersonaLibrary
from personalab.replies.checks import check_reply
from personalab.replies.guard import GuardLog, GuardPolicy, guarded, hard
from tests.conftest import LIBRARY

pytestmark = pytest.mark.slow

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
    checks = engine.checks_for(persona, recalled)
    chunks = list(guarded(engine.backend, plan.messages, engine.options, checks, policy, log))
    return "".join(chunks), log, checks


def named(text: str, checks) -> set[str]:
    """The forbidden words a text names, as the checks find them (negated mentions aside)."""
    report = check_reply(text, hard(checks))
    return {span.text.lower() for r in report.failures for span in r.spans}


def test_every_failed_attempt_of_the_real_model_is_quoted_in_the_summary(engine, lena):
    """Unsteered, whatever the model says: each failed attempt names a forbidden term, and the
    summary quotes a term that attempt named; only the last attempt may be kept failing."""
    streamed, log, checks = run(engine, lena, QUESTION, GuardPolicy(3, 600.0, steer=False))
    assert 1 <= len(log.attempts) <= 3
    for i, attempt in enumerate(log.attempts[:-1]):
        words = named(attempt.text, checks)
        assert words, attempt.text
        quoted = log.summary.lower().split(f"attempt {i + 1} names", 1)[1].split(";")[0]
        assert any(word in quoted for word in words), log.summary
        assert "[guard: that attempt names" in streamed
    last = log.attempts[-1]
    assert last.report.passed or "flagged" in log.summary or len(log.attempts) == 1


def test_steering_keeps_forbidden_foods_out_of_the_first_attempt(engine, lena):
    """With token steering the bundled model answers a vegan's food questions without naming
    meat, dairy or eggs at the first attempt."""
    for question in (QUESTION, "What can I bake for my friend's birthday?"):
        _, log, checks = run(engine, lena, question, GuardPolicy(3, 600.0, steer=True))
        assert len(log.attempts) == 1, log.summary
        assert not named(log.attempts[0].text, checks), log.attempts[0].text


def test_the_guard_is_on_for_the_bundled_model_and_generic_is_not(engine, lena):
    """By default the personalized reply of the bundled model is guarded; generic is not."""
    generic, personal = engine.compare(
        "u", lena, QUESTION, "s", [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
    )
    generic.read(), personal.read()
    assert generic.guard_log is None and personal.guard_log is not None
    assert generic.report is not None  # generic is checked against the same constraints


def test_a_guarded_reply_exports_what_it_shows(engine, lena):
    """The JSON of a guarded reply holds its attempts, its check verdict and the last attempt's
    text as the reply's text."""
    (personal,) = engine.compare("u", lena, QUESTION, "s", [ColumnKind.PERSONALIZED])
    personal.read()
    data = personal.to_json()
    assert data["guard"]["attempts"] and data["checks"]["passed"] is personal.report.passed
    assert data["text"] == personal.guard_log.attempts[-1].text
