"""The guard's stop-and-retry logic on fixed model texts (a scripted backend replays them)."""

from personalab import ChatMessage, GenerationOptions
from personalab.replies.checks import Check
from personalab.replies.guard import GuardLog, GuardPolicy, avoid_words, guarded
from tests.helpers import LinedBackend, ScriptedBackend

VEGAN = Check("She is strictly vegan.", forbid=("meat", "dairy"))
SHORT = Check("Short answers.", max_words=5)
MESSAGES = [ChatMessage("system", "profile"), ChatMessage("user", "Dinner with protein?")]
OPTIONS = GenerationOptions(max_tokens=60)


PATIENT = GuardPolicy(3, 600.0)


def run(backend, checks=(VEGAN,), policy=PATIENT):
    log = GuardLog()
    text = "".join(guarded(backend, MESSAGES, OPTIONS, list(checks), policy, log))
    return text, log


def test_an_attempt_naming_a_forbidden_food_is_stopped_at_the_sentence_end():
    """The chunks after the offending sentence are never read from the model."""
    backend = ScriptedBackend(
        ["Grilled ", "chicken.", " With rice.", " And beans."], ["Lentil curry."]
    )
    run(backend)
    assert backend.handed_out[0] == 2 and backend.calls[0][0] == MESSAGES


def test_the_retry_tells_the_model_what_went_wrong():
    """The second request repeats the message with the forbidden word and the rule."""
    backend = ScriptedBackend(["Grilled chicken."], ["Lentil curry."])
    run(backend)
    retry = backend.calls[1][0][-1].content
    assert retry.startswith("Dinner with protein?") and "chicken" in retry.lower()
    assert VEGAN.constraint in retry


def test_the_stream_says_an_attempt_was_replaced():
    """Between attempts the reader sees a marker naming what the attempt broke."""
    text, _ = run(ScriptedBackend(["Beef stew."], ["Tofu stir-fry."]))
    assert "[guard: that attempt names" in text and text.endswith("Tofu stir-fry.")


def test_the_summary_quotes_each_failed_attempts_words():
    """Every failed attempt's forbidden words are in the summary, whatever their case."""
    _, log = run(ScriptedBackend(["CHEESE toast."], ["Ham sandwich."], ["Bean soup."]))
    summary = log.summary.lower()
    assert "attempt 1 names" in summary and "cheese" in summary.split("attempt 2")[0]
    assert "attempt 2 names" in summary and "ham" in summary.split("attempt 2")[1]
    assert log.attempts[-1].report.passed and "passes its checks" in summary


def test_the_last_attempt_is_kept_whole_and_flagged_when_it_still_fails():
    """After the last attempt nothing is hidden: it streams in full and is flagged."""
    backend = ScriptedBackend(["Beef."], ["Pork."], ["Chicken.", " With", " rice."])
    text, log = run(backend)
    assert len(log.attempts) == 3 and backend.handed_out[-1] == 3
    assert text.endswith("Chicken. With rice.") and "flagged" in log.summary


def test_a_first_attempt_that_passes_is_the_only_one():
    """A reply that keeps every rule is streamed once, untouched."""
    backend = ScriptedBackend(["Lentil ", "curry."])
    text, log = run(backend)
    assert text == "Lentil curry." and len(log.attempts) == 1 and len(backend.calls) == 1


def test_with_the_time_budget_spent_no_new_attempt_starts():
    """Once the budget is spent the attempt underway is the last: shown whole, flagged."""
    backend = ScriptedBackend(["Pork.", " And more."], ["never asked"])
    text, log = run(backend, policy=GuardPolicy(3, -1.0))
    assert len(log.attempts) == 1 and not log.attempts[0].stopped_early
    assert backend.replies == [["never asked"]] and text == "Pork. And more."
    assert "Still breaks a check" in log.summary


def test_length_is_reported_but_never_retried():
    """A reply that is too long is flagged, not asked again."""
    _, log = run(ScriptedBackend(["One two three four five six seven."]), checks=(SHORT,))
    assert len(log.attempts) == 1 and not log.attempts[0].report.passed


def test_a_steering_backend_is_told_every_forbidden_form():
    """A backend that steers gets the forbidden words, plurals included; others get none."""
    steering = ScriptedBackend(["Lentil curry."])
    steering.steers = True
    run(steering)
    avoid = steering.calls[0][1].avoid
    assert {"chicken", "chickens", "cheese"} <= set(avoid) and avoid == avoid_words([VEGAN])
    plain = ScriptedBackend(["Lentil curry."])
    run(plain)
    assert plain.calls[0][1].avoid == ()


def test_a_retry_keeps_the_replys_place_in_line():
    """Another session joins the line while the first attempt streams: the guard's retry of
    that reply is served before it, not sent to the back (in a room, behind everyone)."""
    backend = LinedBackend(["Grilled ", "chicken."], ["Lentil curry."])
    log, text, other = GuardLog(), "", None
    for chunk in guarded(backend, MESSAGES, OPTIONS, [VEGAN], PATIENT, log):
        text += chunk
        other = other or backend.other_session()  # while the first attempt holds the model
    other.join(30)
    assert backend.order == ["model", "model", "other"]
    assert text.endswith("Lentil curry.")


GERMAN = Check("Answers must be in simple German.", language="de")
ENGLISH_ANSWER = "We could all cook a big pot of lentil soup with fresh bread and a salad."
GERMAN_ANSWER = "Wir kochen zusammen eine große Linsensuppe mit frischem Brot und Salat."


def test_a_group_answer_in_the_wrong_language_is_retried_once_it_is_whole():
    """For a group (languages on) an English answer where one member needs German is read to
    its end, then asked again with the language named; a single persona's is only reported."""
    backend = ScriptedBackend(["We could all cook ", ENGLISH_ANSWER[18:]], [GERMAN_ANSWER])
    text, log = run(backend, (GERMAN,), GuardPolicy(3, 600.0, languages=True))
    assert backend.handed_out[0] == 2 and len(log.attempts) == 2
    retry = backend.calls[1][0][-1].content
    assert "German" in retry and GERMAN.constraint in retry
    assert log.attempts[-1].report.passed and text.endswith(GERMAN_ANSWER)
    alone = ScriptedBackend([ENGLISH_ANSWER])
    _, log = run(alone, (GERMAN,))
    assert len(log.attempts) == 1 and not log.attempts[0].report.passed
