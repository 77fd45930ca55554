"""The LLM judge: PrefEval's four errors, through a real local server, and strict parsing."""

import json
import threading

import pytest

from personalab import ColumnKind, Engine, Judge, OpenAIBackend, PersonaLabError, PersonaLibrary
from personalab.compose import judge_from_settings
from personalab.replies.judge import CRITERIA, USES_FACT, parse_verdict
from tests.conftest import LIBRARY
from tests.helpers import ScriptedBackend


def test_a_well_formed_verdict_is_parsed():
    """Four true/false errors, whether a fact is used, and an explanation; fenced JSON too."""
    answer = {name: name == "unhelpful" for name in CRITERIA} | {"explanation": "too vague"}
    answer[USES_FACT] = True
    errors, uses_fact, explanation = parse_verdict("```json\n" + json.dumps(answer) + "\n```")
    assert errors["unhelpful"] is True and sum(errors.values()) == 1 and uses_fact is True
    assert explanation == "too vague"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("The reply is fine.", "not valid JSON"),
        ('["violates"]', "not a JSON object"),
        ('{"violates_unknowingly": "yes", "explanation": ""}', "lacks true/false"),
        (json.dumps(dict.fromkeys(CRITERIA, False)), f"lacks true/false for {USES_FACT}"),
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
    answer[USES_FACT] = False
    backend = ScriptedBackend([json.dumps(answer)], name="judge-model")
    verdict = Judge(backend).rate(["She is strictly vegan."], "What should I eat?", "Chicken.")
    assert verdict.errors["violates_unknowingly"] and not verdict.passed
    assert verdict.uses_fact is False
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


class HeldJudge(ScriptedBackend):
    """Fault injection: a judge model that says it was asked, then holds its answer until
    released."""

    def __init__(self, *replies, **kwargs):
        super().__init__(*replies, **kwargs)
        self.asked, self.release = threading.Event(), threading.Event()

    def stream(self, messages, options):
        self.asked.set()
        self.release.wait(60)
        yield from super().stream(messages, options)


def test_the_judge_rates_a_reply_after_its_stream_and_never_holds_it(store, settings):
    """The whole reply streams while the judge has not answered; the verdict (errors and
    'uses a fact') arrives afterwards, on the reply and in its JSON."""
    answer = dict.fromkeys(CRITERIA, False) | {USES_FACT: True, "explanation": "lentils"}
    judge = HeldJudge([json.dumps(answer)], name="judge-model")
    model = ScriptedBackend(["Lentil ", "curry ", "tonight."])
    engine = Engine(store, model, settings.replace(guard="off"), judge=Judge(judge))
    persona = PersonaLibrary(LIBRARY).get("lena-vegan-marathoner")
    (reply,) = engine.compare("u", persona, "Dinner?", "s", [ColumnKind.PERSONALIZED], False)
    assert "".join(reply) == "Lentil curry tonight."  # streamed in full, the judge held
    assert judge.asked.wait(60)  # asked once the stream had ended
    assert reply.verdict is None and reply.to_json()["judge_pending"]
    assert not reply.wait_judge(0.1)
    judge.release.set()
    assert reply.wait_judge(60) and reply.verdict.passed and reply.verdict.uses_fact is True
    assert not reply.to_json()["judge_pending"]
    assert json.loads(judge.calls[0][0][1].content)["reply"] == "Lentil curry tonight."


@pytest.mark.slow
def test_an_offline_pack_named_as_judge_runs_on_this_machine(settings):
    """PERSONALAB_JUDGE_MODEL set to a pack's name loads that pack in process (the default
    pack, which `make test` installs), with room for two replies; with a judge server URL the
    same name goes to the server instead."""
    local = judge_from_settings(settings.replace(judge_model="qwen2.5-coder-0.5b"))
    assert local.backend.is_local and local.backend.context_window == 4096
    assert "Qwen2.5-Coder" in local.backend.name
    remote = settings.replace(judge_model="qwen2.5-coder-0.5b", judge_base_url="http://x/v1")
    assert isinstance(judge_from_settings(remote).backend, OpenAIBackend)
    assert judge_from_settings(settings) is None
