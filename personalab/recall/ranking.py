"""Recall: facts ranked by relevance, episodes by fused dense + BM25 + recency; a token budget."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from personalab.memory.index import ScopeIndex
from personalab.memory.store import MemoryStore
from personalab.records import Memory, ScoredMemory
from personalab.text.orders import orders_in

# Weights chosen on LoCoMo conversations 1-5 only (see docs/benchmarks.md); 6-10 are reported.
DENSE_WEIGHT = 0.25
NEIGHBOUR_WEIGHT = 0.5
RECENCY_WEIGHT = 0.05
# Facts that a reply can break rank a little higher: health, diet, limits, beliefs, wishes
# about answers, and any fact worded as a limit ("the house has to be silent until 2 pm").
# Chosen on the dev split of preference_probes.yaml: 41 -> 43 of 47 in a 2048-token window
# (the same with the looser word list a review found too broad).
CONSTRAINT_BOOST = 0.06
# A fact's situations count when closer to the message than the fact, less this margin
# (situations are short and general, so an even match says little). Chosen on the dev probes
# with situations from both Qwen packs: at 0 they cost 2-3 of 47 facts (other facts' general
# situations crowd the prompt); from 0.2 none is lost with either pack.
SITUATION_MARGIN = 0.2
CONSTRAINT_CATEGORIES = {"health", "diet", "constraint", "belief", "style", "language"}
LIMITING = re.compile(  # negations and obligations; not bare "so", "no" or "need"
    r"\b(?:can't|cannot|won't|don't|doesn't|never|avoid|allergic|intolerant|has to|have to"
    r"|must|without)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RecallPolicy:
    """How episodes are found and scored."""

    episodes: int = 4  # episodes returned
    # taken from each ranking (dense, keyword) before fusion; on LoCoMo 1-5, 50-100 give the
    # same recall to within 0.4 points, 60 the best or 0.1 from it at each k. Chroma fetches 2x
    # (some are facts or assistant turns): at 100k memories 100 nearest take 1.55 ms, 200 2.0
    candidates: int = 60
    dense_weight: float = DENSE_WEIGHT  # the rest of the match score is BM25's
    recency_weight: float = RECENCY_WEIGHT
    half_life_days: float = 30.0
    neighbour_weight: float = NEIGHBOUR_WEIGHT  # share of the best neighbour's score added
    include_assistant: bool = False  # recall the assistant's own turns on their own
    situations: bool = True  # a fact matches a message through its situations too

    @property
    def formula(self) -> str:
        """How an episode's score is made, in the words the UI shows."""
        dense, keyword = self.dense_weight, 1 - self.dense_weight
        return (
            f"score = {dense:g} × dense + {keyword:g} × keyword (each scaled 0-1 among "
            f"candidates) + {self.recency_weight:g} × recency (half-life "
            f"{self.half_life_days:g} days) + {self.neighbour_weight:g} × the best "
            "neighbouring turn's score"
        )


@dataclass(frozen=True)
class Recall:
    """What memory offers a reply: facts (all, by relevance), episodes, this session's turns;
    and the facts and turns set aside because they give the assistant orders."""

    facts: list[ScoredMemory]
    episodes: list[ScoredMemory]
    recent: list[Memory]
    timings_ms: dict[str, float] = field(default_factory=dict)
    orders: list[Memory] = field(default_factory=list)


def set_aside_orders(facts: list[ScoredMemory]) -> tuple[list[ScoredMemory], list[Memory]]:
    """The facts a prompt may use, and those that give the assistant orders (set aside)."""
    kept, orders = [], []
    for fact in facts:
        if orders_in(fact.memory.text):
            orders.append(fact.memory)
        else:
            kept.append(fact)
    return kept, orders


def recency(created_at: float, now: float, half_life_days: float = 30.0) -> float:
    """1.0 for a memory made now, 0.5 after one half-life, towards 0 for old ones."""
    age_days = max(0.0, now - created_at) / 86400.0
    return math.pow(0.5, age_days / half_life_days)


def recall(
    store: MemoryStore,
    user: str,
    persona: str,
    message: str,
    session: str,
    policy: RecallPolicy = RecallPolicy(),
    recent_turns: int = 4,
    now: float | None = None,
) -> Recall:
    """One embedding of message, one Chroma query, one BM25 query; everything else in memory."""
    now = time.time() if now is None else now
    marks = [time.perf_counter()]
    vector = store.embedder.embed_one(message)
    marks.append(time.perf_counter())
    scope = store.scope(user, persona)
    recent = scope.session_turns(session, last=recent_turns) if recent_turns > 0 else []
    dense_hits = store.dense(user, persona, vector, policy.candidates * 2)
    marks.append(time.perf_counter())
    keyword_hits = scope.keyword.search(message, policy.candidates, policy.include_assistant)
    best = scope.keyword.best_possible(message) if keyword_hits else 0.0
    marks.append(time.perf_counter())
    exclude, limit = {m.id for m in recent}, policy.episodes
    with scope.lock:  # a delete meanwhile would leave ids the candidates name without records
        # a turn that gives orders is set aside and the next best taken (this session's own
        # turns are the user's words just now, and stay)
        orders: list[Memory] = []
        while True:
            episodes = fuse(scope, dense_hits, keyword_hits, policy, exclude, now, best, limit)
            found = [h.memory for h in episodes if orders_in(h.memory.text)]
            if not found:
                break
            orders += found
            exclude |= {m.id for m in found}
        facts = rank_facts(scope, vector, policy.situations)
    facts, ordering = set_aside_orders(facts)
    orders = ordering + orders
    marks.append(time.perf_counter())
    names = ["embed", "dense", "keyword", "fuse"]
    timings = {n: (b - a) * 1000 for n, a, b in zip(names, marks, marks[1:], strict=False)}
    return Recall(facts, episodes, recent, timings, orders)


def fuse(
    scope: ScopeIndex,
    dense_hits: list[tuple[str, float]],
    keyword_hits: list[tuple[str, float]],
    policy: RecallPolicy,
    exclude: set[str],
    now: float,
    keyword_best: float = 0.0,
    limit: int | None = None,
) -> list[ScoredMemory]:
    """The best `limit` episodes (all without it), ranked by scaled similarity and BM25, a
    little recency, and their neighbours.

    Similarity is scaled to 0..1 among the dense candidates; BM25 is divided by the score a
    turn holding every word of the message would get (keyword_best), or by the best BM25
    score when that is not given. A turn next to a strong match (same session) gets part of
    that match's score, as evidence often sits one turn away.
    """
    records, include_assistant = scope.records, policy.include_assistant
    allowed = scope.turn_ids if include_assistant else scope.user_turn_ids

    def recallable(memory_id: str) -> bool:
        return memory_id in allowed and memory_id not in exclude

    def take(hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
        return [(i, s) for i, s in hits if recallable(i)][: policy.candidates]

    dense, keyword = take(dense_hits), take(keyword_hits)
    parts: dict[str, dict[str, float]] = {}
    if dense:
        top, floor = dense[0][1], dense[-1][1]
        for memory_id, similarity in dense:
            scaled = (similarity - floor) / (top - floor) if top > floor else 1.0
            parts[memory_id] = {"similarity": similarity, "dense": scaled}
    if keyword:
        top = max(keyword_best, keyword[0][1])
        for memory_id, score in keyword:
            parts.setdefault(memory_id, {}).update(keyword=score, keyword_scaled=score / top)
    w = policy.dense_weight
    base: dict[str, float] = {}
    for memory_id, p in parts.items():
        p["recency"] = recency(records[memory_id].created_at, now, policy.half_life_days)
        match = w * p.get("dense", 0.0) + (1 - w) * p.get("keyword_scaled", 0.0)
        base[memory_id] = match + policy.recency_weight * p["recency"]

    # Every base is >= 0 (weights within 0..1), so no turn scores less than its base or more
    # than its base plus neighbour_weight x the best base. The limit-th best base is thus a
    # floor of the limit-th best score: a turn that cannot reach it is not looked at, and
    # turns that are nothing but neighbours only around strong matches. The same result,
    # fewer neighbour lookups (all made under one lock).
    ordered = sorted(base.values(), reverse=True)
    enough = ordered[limit - 1] if limit and len(ordered) >= limit else 0.0
    share = policy.neighbour_weight
    lift = share * (ordered[0] if ordered else 0.0)
    pool = [records[i] for i, b in base.items() if b + lift >= enough]
    strong = [m for m in pool if share * base[m.id] >= enough]
    nearby = scope.neighbours_of(pool, include_assistant)
    beside = [n for m in strong for n in nearby[m.id] if n is not None and n.id not in nearby]
    nearby |= scope.neighbours_of(beside, include_assistant)
    scores: dict[str, float] = {}
    for memory in pool:
        looked = nearby[memory.id] if share * base[memory.id] >= enough else ()
        for candidate in (memory, *looked):
            if candidate is None or candidate.id in scores or not recallable(candidate.id):
                continue
            near = max((base.get(m.id, 0.0) for m in nearby[candidate.id] if m), default=0.0)
            scores[candidate.id] = base.get(candidate.id, 0.0) + share * near
    ranked = sorted(scores, key=lambda i: (-scores[i], -records[i].created_at))[:limit]
    return [_scored(records[i], scores[i], base, parts, nearby[i]) for i in ranked]


def _scored(
    memory: Memory,
    score: float,
    base: dict[str, float],
    parts: dict[str, dict[str, float]],
    neighbours: tuple[Memory | None, Memory | None],
) -> ScoredMemory:
    p = parts.get(memory.id, {})
    return ScoredMemory(
        memory=memory,
        score=score,
        similarity=p.get("similarity", 0.0),
        dense=p.get("dense", 0.0),
        keyword=p.get("keyword", 0.0),
        keyword_scaled=p.get("keyword_scaled", 0.0),
        recency=p.get("recency", 0.0),
        neighbour=score - base.get(memory.id, 0.0),
        before=neighbours[0],
        after=neighbours[1],
    )


def rank_facts(
    scope: ScopeIndex, vector: list[float], situations: bool = True
) -> list[ScoredMemory]:
    """Every fact of the scope: the ones the user pinned, then the most relevant (cosine
    similarity to the fact, or to its situations where closer; constraints a little ahead).
    The prompt takes them in this order while they fit its fact budget."""
    facts, vectors, around = scope.facts_and_situations()
    if not facts:
        return []
    query = np.asarray(vector, dtype=np.float32)
    sims = (vectors @ query).astype(np.float64)
    if situations:  # only rows with situations (a zero row would score 0: never lower a fact)
        closer = np.maximum(sims, around @ query - SITUATION_MARGIN)
        sims = np.where(around.any(axis=1), closer, sims)
    scores = sims + CONSTRAINT_BOOST * np.fromiter(map(is_constraint, facts), np.float64)
    pinned = np.fromiter((f.pinned for f in facts), bool, len(facts))
    order = np.lexsort((-scores, ~pinned)).tolist()  # stable: pinned first, then by score
    scores, sims = scores.tolist(), sims.tolist()
    return [ScoredMemory(facts[i], score=scores[i], similarity=sims[i]) for i in order]


def is_constraint(fact: Memory) -> bool:
    """A fact a reply could break: its category, or words that limit what suits the user."""
    return fact.category in CONSTRAINT_CATEGORIES or _limiting(fact.text)


@lru_cache(maxsize=4096)
def _limiting(text: str) -> bool:  # every fact is ranked every turn: match each text once
    return bool(LIMITING.search(text.replace("’", "'")))


def within_budget(
    hits: list[ScoredMemory],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    line: Callable[[Memory], str],
) -> list[ScoredMemory]:
    """The best-ranked memories whose lines fit in budget_tokens, in rank order: each costs
    the line it renders to in the prompt (its text, and a turn's date and speaker), and its
    newline."""
    kept, used = [], 0
    for hit in hits:
        cost = count_tokens(line(hit.memory)) + 1
        if used + cost > budget_tokens:
            continue
        kept.append(hit)
        used += cost
    return kept
