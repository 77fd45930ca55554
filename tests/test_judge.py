"""The LLM judge: PrefEval's four errors, through a real local server, and strict parsing."""

import json

import pytest

from personalab import Judge, OpenAIBackend, PersonaLabError
from personalab.replies.judge import CRITERIA, parse_verdict


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


def test_the_judge_against_a_real_server_keeps_its_prompt_and_raw_answer(llama_server):
    """The bundled model judges through llama.cpp's server in the schema (its verdict means
    little; the prompt, raw answer and parsed flags must line up)."""
    judge = Judge(OpenAIBackend("smollm2", base_url=llama_server, timeout_s=120), max_tokens=200)
    try:
        verdict = judge.rate(["She is strictly vegan."], "What should I eat?", "Grilled chicken.")
    except PersonaLabError as exc:  # a 135M model can run out of tokens mid-JSON
        assert "JSON" in str(exc) or "true/false" in str(exc)
        return
    assert set(verdict.errors) == set(CRITERIA)
    assert verdict.explanation == str(json.loads(verdict.raw)["explanation"])[:1000]
    assert "She is strictly vegan." in verdict.prompt[1].content
    assert verdict.model.startswith("smollm2") and verdict.to_json()["raw"] == verdict.raw
