"""Ranking: similarity first, recency as a tie-breaker, a floor, and a token budget."""

from personalab.memory import Memory, ScoredMemory
from personalab.retrieval import RankingPolicy, rank, recency, within_budget

NOW = 1_800_000_000.0
DAY = 86400.0


def hit(text: str, similarity: float, age_days: float) -> ScoredMemory:
    memory = Memory(text, text, "user", NOW - age_days * DAY, "s", "u", "p")
    return ScoredMemory(memory, similarity)


def test_more_similar_memories_rank_first():
    """Clearly more similar memories win even when older."""
    ranked = rank([hit("b", 0.5, 0), hit("a", 0.9, 300)], now=NOW)
    assert [h.memory.text for h in ranked] == ["a", "b"]


def test_recency_breaks_near_ties():
    """Of two nearly equally similar memories, the newer ranks first."""
    ranked = rank([hit("old", 0.61, 200), hit("new", 0.60, 1)], now=NOW)
    assert [h.memory.text for h in ranked] == ["new", "old"]
    assert ranked[0].recency > ranked[1].recency


def test_weak_matches_are_dropped():
    """Memories below the similarity floor never reach the prompt."""
    ranked = rank([hit("weak", 0.1, 0), hit("ok", 0.3, 0)], RankingPolicy(min_similarity=0.2), NOW)
    assert [h.memory.text for h in ranked] == ["ok"]


def test_recency_halves_every_half_life():
    """Recency is 1 now and 0.5 after one half-life."""
    assert recency(NOW, NOW, 30) == 1.0
    assert abs(recency(NOW - 30 * DAY, NOW, 30) - 0.5) < 1e-9


def test_budget_keeps_the_best_that_fit():
    """The budget keeps memories in rank order, skipping ones that do not fit."""
    hits = [hit("x" * 30, 0.9, 0), hit("y" * 300, 0.8, 0), hit("z" * 30, 0.7, 0)]
    kept = within_budget(hits, budget_tokens=40, count_tokens=lambda t: len(t) // 3)
    assert [h.memory.text[0] for h in kept] == ["x", "z"]
