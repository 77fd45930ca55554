"""Ranking of recalled memories: similarity blended with recency, a floor, and a token budget."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from personalab.memory import ScoredMemory


@dataclass(frozen=True)
class RankingPolicy:
    """How recalled memories are scored and filtered."""

    recency_weight: float = 0.1  # share of the score that comes from recency
    half_life_days: float = 30.0  # recency halves every this many days
    min_similarity: float = 0.2  # weaker matches are not worth the model's context


def recency(created_at: float, now: float, half_life_days: float) -> float:
    """1.0 for a memory made now, 0.5 after one half-life, towards 0 for old ones."""
    age_days = max(0.0, now - created_at) / 86400.0
    return math.pow(0.5, age_days / half_life_days)


def rank(
    hits: list[ScoredMemory], policy: RankingPolicy = RankingPolicy(), now: float | None = None
) -> list[ScoredMemory]:
    """Drop weak matches, score the rest (similarity + recency), best first."""
    now = time.time() if now is None else now
    w = policy.recency_weight
    ranked = []
    for hit in hits:
        if hit.similarity < policy.min_similarity:
            continue
        r = recency(hit.memory.created_at, now, policy.half_life_days)
        ranked.append(replace(hit, recency=r, score=(1 - w) * hit.similarity + w * r))
    return sorted(ranked, key=lambda h: h.score, reverse=True)


def within_budget(
    hits: list[ScoredMemory], budget_tokens: int, count_tokens: Callable[[str], int]
) -> list[ScoredMemory]:
    """The best-ranked memories whose texts fit in budget_tokens, in rank order."""
    kept, used = [], 0
    for hit in hits:
        cost = count_tokens(hit.memory.text) + 8  # quoting, date and role labels
        if used + cost > budget_tokens:
            continue
        kept.append(hit)
        used += cost
    return kept
