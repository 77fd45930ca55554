"""Facts: told apart from events, keyed by slot, deduplicated, superseded with their history."""

import pytest
import yaml

from personalab import FactBook, NewMemory
from personalab.evaluation.probes import DATA
from personalab.facts import classify, extract


@pytest.mark.parametrize(
    "text, label",
    [
        ("I have coeliac disease, so anything with wheat makes me really ill.", "fact"),
        ("I don't drink.", "fact"),
        ("I moved to Porto last month.", "fact"),
        ("I grew up in Lagos.", "fact"),
        ("Please keep answers short.", "fact"),
        ("i read in bed every night even if it's only two pages", "fact"),
        ("I went to a concert yesterday.", "event"),
        ("im eating a sandwich right now", "event"),
        ("I'm so tired today", "event"),
        ("I'm meeting Sam for lunch tomorrow.", "event"),
        ("Can you recommend a book?", "other"),
        ("If I were rich I'd buy a boat.", "other"),
        ("The weather is nice.", "other"),
    ],
)
def test_facts_are_told_from_events_and_requests(text, label):
    """Durable first-person statements are facts; one-off happenings and questions are not."""
    assert classify(text) == label


def test_facts_about_people_the_user_knows_are_kept_apart_from_the_users_own():
    """A named person's lasting trait is a fact; it never fills or supersedes the user's slot."""
    layla = extract("Layla has a severe egg allergy and carries an EpiPen at all times.")
    assert [c.category for c in layla] == ["health"] and layla[0].slot == ""
    assert extract("Jonas sleeps during the day after his night shifts.")[0].category == "people"
    assert classify("Jonas fell asleep on the sofa before the film started.") != "fact"
    assert classify("Miso's vet appointment is on Thursday at four.") != "fact"
    own = extract("Aubergine is the one vegetable I genuinely can't stand.")
    assert own and own[0].category != "people"


def test_slots_and_topics_keep_distinct_facts_apart():
    """Two allergies are two facts; a diet restated in other words is the same slot."""
    peanuts, shellfish = extract("I'm allergic to peanuts."), extract("I'm allergic to shellfish.")
    assert peanuts[0].key == "allergy:peanut" and shellfish[0].key == "allergy:shellfish"
    assert extract("I'm vegetarian")[0].key == extract("I don't eat meat")[0].key == "diet"


def test_ordinary_chat_rarely_becomes_a_fact():
    """Of hundreds of ordinary turns (events, questions, reactions), few are taken as facts."""
    turns = yaml.safe_load((DATA / "ordinary_turns.yaml").read_text())["turns"]
    flooded = [t for t in turns if extract(t)]
    assert len(flooded) <= 0.1 * len(turns), flooded


def learn(store, book, *texts, user="ana"):
    changes = []
    for text in texts:
        turn = store.remember(user, "p", [NewMemory(text, "user", "s")])[0]
        changes += book.learn(user, "p", turn)
    return changes


def test_a_restated_fact_is_updated_not_copied(store):
    """Saying a fact again in other words keeps one fact, refreshed, with its sources."""
    book = FactBook(store)
    changes = learn(
        store,
        book,
        "I'm allergic to shellfish, prawns and mussels especially.",
        "Seafood that comes in a shell makes me really ill, so I steer well clear.",
        "Just so you know, I'm allergic to peanuts too.",
    )
    facts = store.list("ana", "p", kind="fact")
    assert [c.action for c in changes] == ["added", "restated", "added"]
    assert len(facts) == 2
    shellfish = next(f for f in facts if "shell" in f.text)
    assert len(shellfish.sources) == 2 and shellfish.history[0].change == "restated"


def test_a_contradiction_supersedes_and_keeps_history(store):
    """A new home replaces the old one; the old value, its time and source stay in history."""
    book = FactBook(store)
    first = learn(store, book, "I live in Leeds.")[0]
    second = learn(store, book, "I moved to York last month.")[0]
    facts = store.list("ana", "p", kind="fact")
    assert len(facts) == 1 and facts[0].text == "I moved to York last month."
    assert second.action == "changed" and second.previous == "I live in Leeds."
    (old,) = facts[0].history
    assert (old.text, old.change) == ("I live in Leeds.", "changed")
    assert old.source == first.fact.sources[0]
    assert old.at == first.fact.created_at


def test_facts_are_kept_per_user(store):
    """One user's facts never merge with or appear for another user."""
    book = FactBook(store)
    learn(store, book, "I'm vegan.", user="ana")
    learn(store, book, "I'm vegetarian.", user="bob")
    assert [f.text for f in store.list("ana", "p", kind="fact")] == ["I'm vegan."]
    assert [f.text for f in store.list("bob", "p", kind="fact")] == ["I'm vegetarian."]
