"""Recall: fused dense + BM25 + recency with neighbours, facts ranked with constraints first."""

import time
from pathlib import Path

import yaml

from personalab import Engine, NewMemory, RecallPolicy
from personalab.recall.ranking import fuse, recall, recency, within_budget
from personalab.records import Memory, ScoredMemory

NOW = 1_800_000_000.0
DAY = 86400.0
FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_recency_halves_every_half_life():
    """Recency is 1 now and 0.5 after one half-life."""
    assert recency(NOW, NOW, 30) == 1.0
    assert abs(recency(NOW - 30 * DAY, NOW, 30) - 0.5) < 1e-9


def test_budget_keeps_the_best_that_fit():
    """The budget keeps memories in rank order, skipping ones whose lines do not fit."""
    hits = [
        ScoredMemory(Memory(t, t, "user", NOW, "s", "u", "p"), score=s)
        for t, s in (("x" * 30, 0.9), ("y" * 300, 0.8), ("z" * 30, 0.7))
    ]
    kept = within_budget(hits, 40, lambda t: len(t) // 3, line=lambda m: f"- {m.text}")
    assert [h.memory.text[0] for h in kept] == ["x", "z"]


def mrr(store, user, method, questions, index):
    """Mean reciprocal rank of the first answering turn in the top 10 of one ranking."""
    total = 0.0
    for question, answers in questions:
        if method == "fused":
            hits = recall(store, user, "p", question, "-", RecallPolicy(episodes=10), 0)
            ids = [h.memory.id for h in hits.episodes]
        elif method == "dense":
            ids = [i for i, _ in store.dense(user, "p", store.embedder.embed_one(question), 10)]
        else:
            ids = [i for i, _ in store.scope(user, "p").keyword.search(question, 10)]
        ranks = [ids.index(i) for i in (index[a] for a in answers) if i in ids]
        total += 1 / (1 + min(ranks)) if ranks else 0.0
    return total / len(questions)


def test_fused_ranking_beats_each_single_ranking(store):
    """On a two-person chat, fusion ranks answers higher than meaning or keywords alone."""
    data = yaml.safe_load((FIXTURES / "conversation.yaml").read_text())
    start = time.time() - 40 * DAY
    stored = store.remember(
        "ana",
        "p",
        [
            NewMemory(f'{who} said, "{text}"', "user", f"s{s}", created_at=start + s * 7 * DAY + i)
            for i, (s, who, text) in enumerate(data["turns"])
        ],
    )
    index = [m.id for m in stored]
    scores = {m: mrr(store, "ana", m, data["questions"], index) for m in ("dense", "bm25", "fused")}
    assert scores["fused"] > max(scores["dense"], scores["bm25"]), scores


def test_the_top_few_are_the_head_of_the_whole_ranking(store):
    """Fusion asked for its best few (the chat's path, which skips turns that cannot reach
    them) gives exactly the head of the full ranking, scores included."""
    data = yaml.safe_load((FIXTURES / "conversation.yaml").read_text())
    store.remember(
        "ana",
        "p",
        [
            NewMemory(text, "user" if who == data["turns"][0][1] else "assistant", f"s{s}")
            for s, who, text in data["turns"]
        ],
    )
    scope, now = store.scope("ana", "p"), time.time()
    for question, _ in data["questions"]:
        dense = store.dense("ana", "p", store.embedder.embed_one(question), 200)
        keyword = scope.keyword.search(question, 100, True)
        for policy in (RecallPolicy(), RecallPolicy(include_assistant=True)):
            whole = fuse(scope, dense, keyword, policy, set(), now, 5.0)
            for k in (1, 4, 10):
                top = fuse(scope, dense, keyword, policy, set(), now, 5.0, limit=k)
                assert [(h.memory.id, h.score) for h in top] == [
                    (h.memory.id, h.score) for h in whole[:k]
                ]


def test_a_turn_next_to_a_strong_match_gains_from_it(store):
    """The answer that follows a matching question in the same session is lifted."""
    turns = ["Where should we go for our anniversary dinner?", "Let's book Okra, in Peckham."]
    turns += [f"Unrelated note {i} about the garden shed." for i in range(6)]
    stored = store.remember("ana", "p", [NewMemory(t, "user", "s1") for t in turns])
    scope = store.scope("ana", "p")
    vector = store.embedder.embed_one("anniversary dinner plans")
    dense = store.dense("ana", "p", vector, 20)
    keyword = scope.keyword.search("anniversary dinner plans", 20)
    ranked = fuse(scope, dense, keyword, RecallPolicy(), set(), time.time())
    answer = next(h for h in ranked if h.memory.id == stored[1].id)
    assert answer.neighbour > 0 and answer.before.id == stored[0].id
    assert [h.memory.id for h in ranked[:2]] == [stored[0].id, stored[1].id]


def test_assistant_turns_are_not_recalled_on_their_own_by_default(store, settings):
    """What the model said is kept for the transcript, but recall returns the user's words."""
    store.remember(
        "ana",
        "p",
        [
            NewMemory("Tell me about tulips.", "user", "s"),
            NewMemory("Tulips bloom in spring; plant the bulbs in autumn.", "assistant", "s"),
        ],
    )
    engine = Engine(store, None, settings)
    from personalab import Persona

    persona = Persona(name="P")
    persona.set_id("p")
    found = engine.recall("ana", persona, "When do tulip bulbs go in the ground?", "other")
    assert [h.memory.role for h in found.episodes] == ["user"]
    with_assistant = Engine(store, None, settings.replace(recall_assistant_turns=True))
    found = with_assistant.recall("ana", persona, "When do tulip bulbs go in the ground?", "x")
    assert "assistant" in [h.memory.role for h in found.episodes]


def test_health_and_diet_facts_rank_ahead_of_equally_similar_ones(store, settings):
    """Facts a reply could break get a small lift over other facts of similar relevance."""
    from personalab.facts.book import FactBook

    book = FactBook(store)
    for text in ("I love going to the cinema.", "I'm allergic to shellfish."):
        turn = store.remember("ana", "p", [NewMemory(text, "user", "s")])[0]
        book.learn("ana", "p", turn)
    vector = store.embedder.embed_one("Plan a fun Friday evening out for me.")
    from personalab.recall.ranking import rank_facts

    ranked = rank_facts(store.scope("ana", "p"), vector)
    allergy = next(h for h in ranked if "shellfish" in h.memory.text)
    assert allergy.memory.category == "health" and allergy.score > allergy.similarity


def test_a_fact_worded_as_a_limit_ranks_ahead_of_an_equally_similar_one(store):
    """'So the house has to be silent until 2 pm' is a constraint whatever its category."""
    from personalab.facts.book import FactBook
    from personalab.recall.ranking import rank_facts

    book = FactBook(store)
    for text in (
        "Jonas sleeps during the day after his night shifts, so the house has to be silent.",
        "Jonas loves old westerns.",
    ):
        turn = store.remember("ana", "p", [NewMemory(text, "user", "s")])[0]
        book.learn("ana", "p", turn)
    ranked = rank_facts(store.scope("ana", "p"), store.embedder.embed_one("When can we talk?"))
    silent, westerns = sorted(ranked, key=lambda h: "westerns" in h.memory.text)
    assert silent.memory.category == westerns.memory.category == "people"
    assert silent.score > silent.similarity and westerns.score == westerns.similarity
