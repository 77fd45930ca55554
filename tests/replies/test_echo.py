"""The instruction-echo check: a reply that recites its prompt instead of answering fails."""

from personalab import ChatMessage, GenerationOptions
from personalab.prompts import ECHO_RULE, INSTRUCTIONS, PERSONALIZED_RULES
from personalab.replies.checks import Check, check_reply
from personalab.replies.guard import GuardLog, GuardPolicy, guarded
from tests.helpers import ScriptedBackend

ECHO = Check(ECHO_RULE, echo=INSTRUCTIONS, source="prompt")
RECITED = (
    "She is a helpful assistant talking to the user described above. Tailor the answer to "
    "this fact: Respect every constraint and preference; Use only facts mentioned in her profile."
)


def test_a_reply_that_quotes_the_system_prompt_fails_and_shows_the_words():
    """SmolLM2's recital of its rules fails the check, quoting the repeated words."""
    (result,) = check_reply(RECITED, [ECHO]).results
    assert not result.passed
    assert "a helpful assistant talking to the user described" in result.detail
    assert all(RECITED[s.start : s.end] == s.text for s in result.spans)


def test_the_rules_verbatim_in_any_case_fail():
    """The rules quoted whole, in capitals and without punctuation, are still an echo."""
    shouted = PERSONALIZED_RULES.upper().replace(".", "").replace(":", "")
    assert not check_reply(shouted, [ECHO]).passed


def test_an_answer_that_uses_a_few_of_the_same_words_passes():
    """An answer may say "the user" or "every constraint"; only five words in a row is an echo."""
    answer = "Respect every constraint of your diet: try a lentil curry, the user favourite here."
    assert check_reply(answer, [ECHO]).passed


def test_the_guard_stops_an_echo_and_asks_again():
    """A recital is stopped at its first sentence end and retried; the answer that follows is
    kept and passes."""
    backend = ScriptedBackend(
        ["She is a helpful assistant talking to the user described above.", " More rules."],
        ["Try a lentil curry with rice.", " It is quick."],
    )
    log = GuardLog()
    messages = [ChatMessage("system", PERSONALIZED_RULES), ChatMessage("user", "Dinner?")]
    options = GenerationOptions(max_tokens=40)
    text = "".join(guarded(backend, messages, options, [ECHO], GuardPolicy(3, 600.0), log))
    assert backend.handed_out == [1, 2]  # the recital's second chunk was never read
    assert len(log.attempts) == 2 and log.attempts[-1].report.passed
    assert "repeats its instructions" in log.summary and text.endswith("It is quick.")
    assert ECHO_RULE in backend.calls[1][0][-1].content  # the retry says what to do instead
