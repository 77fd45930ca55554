"""The engine: recall -> prompt -> stream -> remember, for one reply or a comparison of kinds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from personalab.backends import ChatBackend, GenerationOptions
from personalab.errors import MemoryStoreError
from personalab.memory import Memory, MemoryStore, NewMemory, ScoredMemory
from personalab.personas import Persona
from personalab.prompts import ColumnKind, PromptPlan, build
from personalab.retrieval import RankingPolicy, rank
from personalab.settings import Settings


@dataclass(frozen=True)
class ReplyStats:
    """Timings of one streamed reply, measured around the backend's stream."""

    first_token_s: float
    total_s: float
    chunks: int

    @property
    def chunks_per_s(self) -> float:
        decode = self.total_s - self.first_token_s
        return (self.chunks - 1) / decode if self.chunks > 1 and decode > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "first_token_s": round(self.first_token_s, 4),
            "total_s": round(self.total_s, 4),
            "chunks": self.chunks,
            "chunks_per_s": round(self.chunks_per_s, 2),
        }


class Reply:
    """A reply being streamed: iterate it for text chunks; then .text, .stats and .saved are set."""

    def __init__(
        self,
        plan: PromptPlan,
        backend: ChatBackend,
        options: GenerationOptions,
        on_complete: Callable[[Reply], list[Memory]] | None = None,
    ):
        self.plan = plan
        self.backend = backend
        self.options = options
        self.on_complete = on_complete
        self.text = ""
        self.stats: ReplyStats | None = None
        self.saved: list[Memory] = []
        self.memory_error: str | None = None

    def __iter__(self) -> Iterator[str]:
        if self.stats is not None:  # streamed already: replay, never generate or save twice
            yield self.text
            return
        start = time.perf_counter()
        first, parts = 0.0, []
        for chunk in self.backend.stream(self.plan.messages, self.options):
            if not parts:
                first = time.perf_counter() - start
            parts.append(chunk)
            yield chunk
        self.text = "".join(parts).strip()
        self.stats = ReplyStats(first, time.perf_counter() - start, len(parts))
        if self.on_complete is not None:
            try:
                self.saved = self.on_complete(self)
            except MemoryStoreError as exc:
                self.memory_error = str(exc)

    def read(self) -> str:
        """Consume the whole stream and return the text."""
        for _ in self:
            pass
        return self.text

    def to_json(self) -> dict:
        return {
            "kind": self.plan.kind.value,
            "text": self.text,
            "model": self.backend.name,
            "stats": self.stats.to_json() if self.stats else None,
            "prompt": self.plan.to_json(),
            "memory_error": self.memory_error,
        }


# The richest kind in a comparison is the one whose reply joins the conversation memory.
REMEMBER_ORDER = [
    ColumnKind.PERSONALIZED,
    ColumnKind.PERSONA,
    ColumnKind.MEMORY,
    ColumnKind.GENERIC,
]


class Engine:
    """Personalized replies from a MemoryStore and a ChatBackend, configured by Settings."""

    def __init__(self, store: MemoryStore, backend: ChatBackend, settings: Settings):
        self.store = store
        self.backend = backend
        self.settings = settings
        self.policy = RankingPolicy(min_similarity=settings.min_similarity)
        self.options = GenerationOptions(
            max_tokens=settings.max_tokens, temperature=settings.temperature
        )

    def recall(
        self, user: str, persona: Persona, message: str, session: str
    ) -> tuple[list[ScoredMemory], list[Memory]]:
        """Memories related to message (ranked), and this session's recent turns."""
        n = self.settings.recent_turns
        recent = self.store.list(user, persona.id, session=session)[-n:] if n > 0 else []
        hits = self.store.search(
            user,
            persona.id,
            message,
            k=self.settings.memory_k * 2,
            exclude_ids=[m.id for m in recent],
        )
        return rank(hits, self.policy)[: self.settings.memory_k], recent

    def compare(
        self,
        user: str,
        persona: Persona,
        message: str,
        session: str,
        kinds: list[ColumnKind],
        remember: bool = True,
    ) -> list[Reply]:
        """One Reply per kind, sharing one recall; iterate each to stream it."""
        memories, recent = self.recall(user, persona, message, session)
        keeper = next((k for k in REMEMBER_ORDER if k in kinds), None) if remember else None
        replies = []
        for kind in kinds:
            plan = build(
                kind,
                message,
                persona,
                memories,
                recent,
                context_window=self.backend.context_window,
                max_reply_tokens=self.options.max_tokens,
                memory_budget_tokens=self.settings.memory_token_budget,
            )
            save = self._saver(user, persona, message, session) if kind is keeper else None
            replies.append(Reply(plan, self.backend, self.options, on_complete=save))
        return replies

    def reply(
        self, user: str, persona: Persona, message: str, session: str, remember: bool = True
    ) -> Reply:
        """The personalized reply (persona + memories + recent turns)."""
        kinds = [ColumnKind.PERSONALIZED]
        return self.compare(user, persona, message, session, kinds, remember)[0]

    def _saver(self, user: str, persona: Persona, message: str, session: str):
        def save(reply: Reply) -> list[Memory]:
            items = [NewMemory(message, "user", session)]
            if reply.text:
                meta = {"model": reply.backend.name}
                items.append(NewMemory(reply.text, "assistant", session, metadata=meta))
            return self.store.remember(user, persona.id, items)

        return save
