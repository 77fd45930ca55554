"""Facts: told apart from events, keyed by slot, deduplicated, superseded with their history."""

from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from personalab import FactBook, NewMemory
from personalab.evaluation.fact_training import train
from personalab.evaluation.probes import DATA
from personalab.facts.extract import classify, extract
from personalab.facts.model import FactModel


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
        # the user as the one something happens to, or a trait put as an adjective
        ("Crowds give me panic attacks.", "fact"),
        ("Bright light triggers my migraines.", "fact"),
        ("Gluten is off the table for me.", "fact"),
        ("No dairy for me, it wrecks my stomach.", "fact"),
        ("I'm left-handed.", "fact"),
        ("Most of my friends live abroad.", "fact"),
        ("That film makes me cry every time.", "other"),
        ("I might try yoga at some point.", "other"),
        ("I need to buy a birthday present for my niece.", "other"),
        ("We finally put up the shelves.", "event"),
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


def test_a_relative_as_the_subject_never_fills_the_users_own_slot(store):
    """'My daughter is allergic to cats' is the daughter's allergy: the user's stays as it was."""
    book = FactBook(store)
    learn(store, book, "I'm allergic to penicillin.", "My daughter Mia is allergic to cats.")
    facts = store.list("ana", "p", kind="fact")
    assert len(facts) == 2 and all(not f.history for f in facts)
    mia = next(f for f in facts if "Mia" in f.text)
    assert mia.category == "people" and mia.key == ""
    assert extract("My kid brother is a firefighter.")[0].key == "people:brother"
    assert not any(c.slot == "age" for c in extract("I want a flat by the time I'm thirty."))


def test_two_facts_about_one_relative_are_both_kept(store):
    """A brother's home and his job are two facts: the second never supersedes the first."""
    book = FactBook(store)
    learn(store, book, "My brother Daniel lives in Vancouver.", "My brother is a firefighter.")
    texts = sorted(f.text for f in store.list("ana", "p", kind="fact"))
    assert texts == ["My brother Daniel lives in Vancouver.", "My brother is a firefighter."]


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


@pytest.mark.parametrize(
    "said",
    [
        "I won't let this bring me down.",  # the two "facts" of the issue on real chat
        "I'll be sure to give you a shout whenever I run out of things to watch!",
        "Thanks, Jon! I really appreciate it.",
        "I owe you one.",
        "I couldn't agree more!",
        "Your faith in me is priceless - I won't let you down!",
        "Sorry I haven't been around, I'm doing OK, cheers for asking.",
        "Family is everything.",
        "Having friends you can rely on makes a huge difference.",
        "It gives me the oomph to keep chasing my dreams.",
    ],
)
def test_thanks_promises_and_maxims_are_not_facts_about_the_speaker(embedder, said):
    """What a chat is full of (thanks, promises to the listener, how one is doing, general
    truths, a thing's effect on the speaker) is not taken by the rules, nor put to the fact
    model."""
    model = FactModel.load(embedder)
    assert extract(said, model.judge(embedder)) == []


@pytest.mark.parametrize(
    "fact",
    [
        "I won't let my kids eat anything with added sugar.",
        "I'm doing great at my new job as a nurse.",
        "Thanks! I'm vegan, so no cheese for me.",
        "It's my sister who is allergic to nuts.",
        "This is my third year living in Ghent.",
        "Cooking for my family every Sunday is my favourite thing.",
    ],
)
def test_a_fact_beside_a_formula_or_in_its_words_is_still_taken(embedder, fact):
    model = FactModel.load(embedder)
    assert extract(fact, model.judge(embedder))


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


def test_a_sentence_that_restates_a_fact_only_with_its_turn_adds_no_copy(store):
    """'Music is a big part of my life' matches no fact alone; its turn restates the cello."""
    book = FactBook(store)
    changes = learn(
        store,
        book,
        "I play the cello in an amateur orchestra.",
        "Music is a big part of my life; I play cello with a community orchestra.",
    )
    (cello,) = store.list("ana", "p", kind="fact")
    assert [c.action for c in changes] == ["added", "restated", "restated"]
    assert "cello" in cello.text and len(cello.history) == 1  # one turn, one revision


def test_a_new_fact_beside_a_restated_one_is_added(store):
    """'I'm still vegetarian. Crowds make me anxious.': the diet is restated, the crowds kept."""
    book = FactBook(store)
    learn(store, book, "I'm vegetarian.", "I'm still vegetarian. Crowds make me anxious.")
    texts = sorted(f.text for f in store.list("ana", "p", kind="fact"))
    assert texts == ["Crowds make me anxious.", "I'm still vegetarian."]


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


def test_a_pet_named_by_its_breed_and_then_as_a_dog_is_one_fact(store):
    """'A border collie called Pip' and 'my dog' later fill the same pet slot."""
    book = FactBook(store)
    learn(
        store,
        book,
        "I have a border collie called Pip who needs two long walks a day.",
        "My dog has endless energy, so she has to be walked morning and evening.",
    )
    (pet,) = store.list("ana", "p", kind="fact")
    assert pet.key == "pet:dog" and len(pet.sources) == 2


def test_facts_are_kept_per_user(store):
    """One user's facts never merge with or appear for another user."""
    book = FactBook(store)
    learn(store, book, "I'm vegan.", user="ana")
    learn(store, book, "I'm vegetarian.", user="bob")
    assert [f.text for f in store.list("ana", "p", kind="fact")] == ["I'm vegan."]
    assert [f.text for f in store.list("bob", "p", kind="fact")] == ["I'm vegetarian."]


def test_the_shipped_fact_model_is_what_training_on_the_dev_sentences_gives(embedder, tmp_path):
    """facts/fact_model.json is what `python -m personalab.evaluation.fact_training` gives from
    the dev data as it is now (a change to that data without training again fails here)."""
    shipped = FactModel.load(embedder)
    assert shipped is not None
    train(embedder, tmp_path / "model.json")
    again = FactModel.load(embedder, tmp_path / "model.json")
    assert np.allclose(again.weights, shipped.weights, atol=1e-4)
    assert abs(again.bias - shipped.bias) < 1e-4


def test_the_fact_model_takes_facts_in_words_the_rules_do_not_know(store):
    """A lasting statement the rules miss is stored as a fact; passing talk is not; a
    statement that adds to the turn's fact before it joins that fact."""
    assert not extract("Heavy metal is basically the soundtrack of my life.")
    book = FactBook(store)
    learn(
        store,
        book,
        "Heavy metal is basically the soundtrack of my life. Can you suggest a gig in Leeds?",
        "Mountains over beaches for me, every single time.",
        "My legs were sore after the hike.",
        "I play drums in a covers band. Loud guitars are basically my therapy.",
    )
    facts = sorted(f.text for f in store.list("ana", "p", kind="fact"))
    assert facts == [
        "Heavy metal is basically the soundtrack of my life.",
        "I play drums in a covers band. Loud guitars are basically my therapy.",
        "Mountains over beaches for me, every single time.",
    ]


def test_the_fact_model_is_off_for_an_embedder_it_was_not_trained_for():
    """Another embedding model's vectors mean nothing to the weights: rules alone then."""
    other = SimpleNamespace(name="/models/e5-small", dimension=384)
    assert FactModel.load(other) is None
