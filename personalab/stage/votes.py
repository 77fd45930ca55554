"""Blind votes between answers, kept across sessions, and win rates with Wilson intervals."""

from __future__ import annotations

import math
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass

from personalab.memory.side import SideCollection
from personalab.memory.store import MemoryStore

COLLECTION = "personalab-votes"
OUTCOMES = ("win", "tie", "both_bad")


@dataclass(frozen=True)
class Vote:
    """One audience vote: which column kind won (or a tie, or both bad) among those shown."""

    persona: str
    model: str
    shown: tuple[str, ...]  # the column kinds that were on screen
    winner: str  # a kind from shown, or "tie", or "both_bad"
    at: float = 0.0

    def to_json(self) -> dict:
        return asdict(self) | {"shown": list(self.shown)}


@dataclass(frozen=True)
class WinRate:
    persona: str
    kind: str
    model: str
    wins: int
    games: int

    @property
    def rate(self) -> float:
        return self.wins / self.games if self.games else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.wins, self.games)

    def to_json(self) -> dict:
        low, high = self.interval
        return asdict(self) | {
            "rate": round(self.rate, 4),
            "low": round(low, 4),
            "high": round(high, 4),
        }


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) for a share of successes."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


class VoteBook:
    """Votes in their own Chroma collection beside the memories (a folder or a server)."""

    def __init__(self, store: MemoryStore):
        self.store = store
        self.records = SideCollection(store.client, COLLECTION, "the votes")

    def add(self, vote: Vote) -> Vote:
        """Keep a vote (its time set now if it has none)."""
        if vote.winner not in (*vote.shown, *OUTCOMES[1:]):
            raise ValueError(f"the winner must be one of the shown columns, not {vote.winner!r}")
        vote = Vote(
            vote.persona, vote.model, tuple(vote.shown), vote.winner, vote.at or time.time()
        )
        meta = {"persona": vote.persona, "model": vote.model, "shown": ",".join(vote.shown),
                "winner": vote.winner, "at": vote.at}  # fmt: skip
        self.records.put(uuid.uuid4().hex, meta, "vote", replace=False)
        return vote

    def all(self) -> list[Vote]:
        """Every vote kept."""
        return [
            Vote(m["persona"], m["model"], tuple(m["shown"].split(",")), m["winner"], m["at"])
            for m in self.records.metadatas()
        ]


def win_rates(votes: list[Vote]) -> list[WinRate]:
    """Per persona, column kind and model: how often that kind won the votes it was in."""
    wins: dict[tuple[str, str, str], int] = defaultdict(int)
    games: dict[tuple[str, str, str], int] = defaultdict(int)
    for vote in votes:
        for kind in vote.shown:
            key = (vote.persona, kind, vote.model)
            games[key] += 1
            wins[key] += vote.winner == kind
    return [WinRate(p, k, m, wins[(p, k, m)], n) for (p, k, m), n in sorted(games.items())]
