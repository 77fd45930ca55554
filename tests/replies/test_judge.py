"""The LLM judge: PrefEval's four errors, through a real local server, and strict parsing."""

import json

import pytest

from personalab import Judge, OpenAIBackend, PersonaLabError
from personalab.replies.judge import CRITERIA, parse_verdict
from tests.helpers import ScriptedBackend


def test_a_well_formed_verdict_is_parsed():
    """Four true/false errors and an explanation; fenced JSON is accepted too."""
    answer = {name: name == "unhelpful" for name in CRITERIA} | {"explanation": "too vague"}
    errors, explanation = parse_verdict("```json\n" + json.dumps(answer) + "\n```")
    assert errors["unhelpful"] is True and sum(errors.values()) == 1
    assert explanation == "too vague"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("The reply is fine.", "not valid JSON"),
        ('["violates"]', "not a JSON object"),
        ('{"violates_unknowingly": "yes", "explanation": ""}', "lacks true/false"),
    ],
)
def test_malformed_verdicts_are_refused(raw, reason):
    """Anything but the asked JSON is an error the UI can show, never a silent verdict."""
    with pytest.raises(PersonaLabError, match=reason):
        parse_verdict(raw)


def test_the_judge_keeps_its_prompt_raw_answer_and_flags():
    """A rating keeps what the judge was told (facts, question, reply), its raw answer, and
    the flags parsed from it."""
    answer = {name: name == "violates_unknowingly" for name in CRITERIA} | {"explanation": "meat"}
    backend = ScriptedBackend([json.dumps(answer)], name="judge-model")
    verdict = Judge(backend).rate(["She is strictly vegan."], "What should I eat?", "Chicken.")
    assert verdict.errors["violates_unknowingly"] and not verdict.passed
    told = json.loads(verdict.prompt[1].content)
    assert told == {"user_facts": ["She is strictly vegan."], "question": "What should I eat?",
                    "reply": "Chicken."}  # fmt: skip
    assert verdict.raw == json.dumps(answer) and verdict.model == "judge-model"
    options = backend.calls[0][1]
    assert options.response_format and options.temperature == 0.0  # held to the schema


@pytest.mark.slow
def test_the_judge_through_a_real_server_answers_in_the_schema_or_says_why(llama_server):
    """llama.cpp's server is asked in the structured form it accepts; the answer parses into
    the four flags, or the error names the JSON problem (a 135M model may run out of tokens)."""
    judge = Judge(OpenAIBackend("smollm2", base_url=llama_server, timeout_s=120), max_tokens=200)
    try:
        verdict = judge.rate(["She is strictly vegan."], "What should I eat?", "Grilled chicken.")
    except PersonaLabError as exc:
        assert "JSON" in str(exc) or "true/false" in str(exc)
    else:
        assert set(verdict.errors) == set(CRITERIA) and verdict.raw
        assert verdict.model.startswith("smollm2")
