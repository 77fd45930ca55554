"""Constraint checks: a fixture corpus of replies, persona and fact checks, the `check` command."""

import json
from pathlib import Path

import pytest
import yaml

from personalab import PersonaLibrary
from personalab.records import Memory
from personalab.replies.checks import Check, check_reply, checks_for_fact, run_check
from tests.conftest import LIBRARY, run_cli

CASES = yaml.safe_load((Path(__file__).parent.parent / "fixtures" / "check_cases.yaml").read_text())


def as_check(spec: dict) -> Check:
    return Check(
        "constraint",
        forbid=tuple(spec.get("forbid", ())),
        max_words=spec.get("max_words", 0),
        max_sentences=spec.get("max_sentences", 0),
        language=spec.get("language", ""),
    )


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["reply"][:40] for c in CASES["cases"]])
def test_the_checker_on_the_fixture_corpus(case):
    """Violations, negations, inflections, look-alikes, other languages and lengths."""
    result = run_check(as_check(case["constraint"]), case["reply"])
    assert result.passed == case["passed"], (case.get("note"), result.detail)
    if not case["passed"] and case["spans"]:
        assert [s.text for s in result.spans] == case["spans"]
        for span in result.spans:  # each span points at the exact words in the reply
            assert case["reply"][span.start : span.end] == span.text


def test_negated_terms_are_counted_as_mentions_not_violations():
    """'No meat, just lentils' names meat only to rule it out: a mention, not a violation."""
    result = run_check(Check("vegan", forbid=("meat",)), "No meat today, just lentils.")
    assert result.passed and [s.text for s in result.mentions] == ["meat"]


def test_shipped_personas_carry_checks_that_catch_what_they_rule_out():
    """The vegan, gluten-free, blind and car-less personas each fail an obviously wrong reply."""
    library = PersonaLibrary(LIBRARY)
    wrong = {
        "lena-vegan-marathoner": "Have scrambled eggs with a glass of milk.",
        "marcus-logistics-executive": "Grab a bagel and a beer at the airport.",
        "david-blind-developer": "Take a screenshot and look at the diagram.",
        "sofia-nursing-student": "Rent a car for the weekend.",
        "margaret-retired-teacher": "Open FaceTime on your iPhone.",
        "ananya-olympiad-student": "Bring your laptop and an omelette.",
    }
    for persona_id, reply in wrong.items():
        report = check_reply(reply, library.get(persona_id).checks())
        assert not report.passed, persona_id
    assert check_reply(
        "Lentil soup and rice.", library.get("lena-vegan-marathoner").checks()
    ).passed


def fact(text, key):
    return Memory("f", text, "user", 0.0, "s", "u", "p", kind="fact", key=key)


@pytest.mark.parametrize(
    "text, key, reply, passes",
    [
        ("I'm allergic to peanuts.", "allergy:peanut", "Try a peanut butter smoothie.", False),
        ("I'm allergic to peanuts.", "allergy:peanut", "Try a banana smoothie.", True),
        ("I'm vegetarian.", "diet", "A beef stew would warm you up.", False),
        ("I don't drink.", "alcohol", "Toast with a glass of champagne!", False),
        ("I don't drink.", "alcohol", "Toast with sparkling elderflower.", True),
        ("I don't own a car.", "car", "It's a short drive from the station.", False),
    ],
)
def test_facts_from_memory_imply_checks(text, key, reply, passes):
    """A fact about the user ('I'm allergic to peanuts') checks replies like a persona rule."""
    checks = checks_for_fact(fact(text, key))
    assert checks and checks[0].source == "fact"
    assert check_reply(reply, checks).passed is passes


@pytest.mark.slow
def test_check_command_prints_json_and_exits_3_on_failure():
    """`check --json` prints passed and every check; a failing reply exits with status 3."""
    args = ["check", "--persona", "lena-vegan-marathoner", "--json"]
    bad = run_cli(*args, "Grilled chicken and rice.")
    assert bad.returncode == 3, bad.stderr
    out = json.loads(bad.stdout)
    assert out["passed"] is False
    vegan = next(c for c in out["checks"] if "vegan" in c["check"]["constraint"])
    assert vegan["spans"][0]["text"] == "chicken" and not vegan["passed"]
    good = run_cli(*args, "Lentil dal with rice.")
    assert good.returncode == 0 and json.loads(good.stdout)["passed"] is True
