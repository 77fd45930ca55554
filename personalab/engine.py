"""The engine: recall -> prompt -> stream -> remember, for one reply or a comparison of kinds."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from personalab.errors import MemoryStoreError, PersonaLabError
from personalab.facts.book import FactBook, FactChange
from personalab.facts.extract import pieces
from personalab.facts.llm import LLMFactExtractor
from personalab.facts.situations import write_situations
from personalab.memory.store import MemoryStore
from personalab.models.backends import ChatBackend, GenerationOptions
from personalab.personas.model import Persona
from personalab.prompts import (
    ECHO_RULE,
    INSTRUCTIONS,
    Budget,
    ColumnKind,
    PromptPlan,
    build,
    check_message,
    count_tokens,
    counted_texts,
)
from personalab.recall.ranking import Recall, RecallPolicy, recall, set_aside_orders
from personalab.records import Memory, NewMemory, ScoredMemory
from personalab.replies.checks import Check, checks_for_fact
from personalab.replies.guard import GuardPolicy
from personalab.replies.judge import Judge
from personalab.reply import Reply, ReplyStats, Saved  # noqa: F401 (re-exported)
from personalab.settings import Settings
from personalab.text.orders import orders_in
from personalab.text.redaction import redact

# LLM fact extraction runs after the reply has streamed, one turn at a time, off the page.
_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="personalab-facts")

# The richest kind in a comparison is the one whose reply joins the conversation memory.
REMEMBER_ORDER = [
    ColumnKind.PERSONALIZED,
    ColumnKind.PERSONA,
    ColumnKind.MEMORY,
    ColumnKind.GENERIC,
]


class Engine:
    """Personalized replies from a MemoryStore and a ChatBackend, configured by Settings.

    The backend may be None for memory-only work (writing turns, planning prompts).
    """

    def __init__(
        self,
        store: MemoryStore,
        backend: ChatBackend | None,
        settings: Settings,
        factbook: FactBook | None = None,
        judge: Judge | None = None,
        fact_backend: ChatBackend | None = None,
    ):
        self.store = store
        self.backend = backend
        self.settings = settings
        self.factbook = factbook or FactBook(store)
        self.judge = judge
        facts_by = fact_backend or backend  # a model of its own for facts, else the reply's
        use_llm = settings.fact_extraction == "llm" or (
            settings.fact_extraction == "auto"
            and facts_by is not None
            and not getattr(facts_by, "bundled", False)
        )
        self.extractor = LLMFactExtractor(facts_by, self.factbook) if use_llm and facts_by else None
        # who writes where each new fact matters: a model on this machine, not the 135M one
        capable = getattr(facts_by, "writes_situations", False) and facts_by.is_local
        expands = {"on": True, "auto": capable}.get(settings.fact_situations, False)
        self.situations_by = facts_by if expands else None
        self.policy = RecallPolicy(
            episodes=settings.memory_k,
            include_assistant=settings.recall_assistant_turns,
            situations=settings.fact_situations != "off",
        )
        self.options = GenerationOptions(
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            repeat_penalty=settings.repeat_penalty,
        )
        guard_on = settings.guard == "on" or (
            settings.guard == "auto" and backend is not None and getattr(backend, "bundled", False)
        )
        self.guard = (
            GuardPolicy(settings.guard_attempts, settings.guard_time_s) if guard_on else None
        )
        self.budget = Budget(
            context_window=backend.context_window if backend else settings.n_ctx,
            max_reply_tokens=settings.max_tokens,
            episodes=settings.memory_token_budget,
            facts=settings.fact_token_budget,
            count=getattr(backend, "count_tokens", count_tokens),
        )

    def recall(self, user: str, persona: Persona, message: str, session: str) -> Recall:
        """Facts, episodes and this session's recent turns for message."""
        return recall(
            self.store,
            user,
            persona.id,
            message,
            session,
            self.policy,
            recent_turns=self.settings.recent_turns,
        )

    def plan(
        self, kind: ColumnKind, message: str, persona: Persona, recalled: Recall
    ) -> PromptPlan:
        """The exact messages one column kind would send (no model call)."""
        plan = build(
            kind,
            message,
            persona,
            recalled.facts,
            recalled.episodes,
            recalled.recent,
            self.budget,
            reminder=self.settings.constraint_reminder,
            local=self.backend is None or self.backend.is_local,
        )
        return replace(plan, score_formula=self.policy.formula, set_aside=recalled.orders)

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
        if self.backend is None:
            raise PersonaLabError("no model is configured for replies")
        check_message(message)
        recalled = self.recall(user, persona, message, session)
        keeper = next((k for k in REMEMBER_ORDER if k in kinds), None) if remember else None
        # The user's turn is stored as it arrives (marked unanswered until its reply is), so a
        # reply that fails or a process killed mid-reply never loses what the user said.
        said = self.arrived(user, persona.id, message, session) if keeper else None
        checks = self.checks_for(persona, recalled)
        replies = []
        for kind in kinds:
            plan = self.plan(kind, message, persona, recalled)
            save = self._saver(user, persona, said, session) if kind is keeper else None
            guard = self.guard if kind is ColumnKind.PERSONALIZED else None
            replies.append(Reply(plan, self.backend, self.options, save, checks, guard, self.judge))
        return replies

    def answer_columns(
        self,
        user: str,
        message: str,
        session: str,
        columns: list[tuple[Persona, ColumnKind]],
        remember: bool = True,
    ) -> list[tuple[Persona, Reply]]:
        """One Reply per (persona, kind) column, in order: one recall serves each persona's
        columns, and each persona's exchange is stored once, in that persona's memory."""
        by_persona: dict[str, tuple[Persona, list[ColumnKind]]] = {}
        for persona, kind in columns:
            by_persona.setdefault(persona.id, (persona, []))[1].append(kind)
        answered: dict[tuple[str, ColumnKind], Reply] = {}
        for persona, kinds in by_persona.values():
            unique = list(dict.fromkeys(kinds))
            replies = self.compare(user, persona, message, session, unique, remember)
            answered.update({(persona.id, k): r for k, r in zip(unique, replies, strict=True)})
        unique_columns = dict.fromkeys((p.id, k) for p, k in columns)
        people = {p.id: p for p, _ in columns}
        return [(people[pid], answered[(pid, kind)]) for pid, kind in unique_columns]

    @staticmethod
    def checks_for(persona: Persona, recalled: Recall) -> list[Check]:
        """What every reply is checked against: the persona's checks and those its user's
        facts imply ("I'm allergic to peanuts"), the same for every column."""
        checks = persona.checks() + [c for f in recalled.facts for c in checks_for_fact(f.memory)]
        unique = {(c.constraint, c.forbid, c.max_words, c.language): c for c in checks}
        return [*unique.values(), Check(ECHO_RULE, echo=INSTRUCTIONS, source="prompt")]

    def reply(
        self, user: str, persona: Persona, message: str, session: str, remember: bool = True
    ) -> Reply:
        """The personalized reply (persona + memories + recent turns)."""
        kinds = [ColumnKind.PERSONALIZED]
        return self.compare(user, persona, message, session, kinds, remember)[0]

    def remember(
        self,
        user: str,
        persona_id: str,
        turns: list[NewMemory],
        background: bool = False,
        earlier: tuple[Memory, ...] = (),
    ) -> Saved:
        """Store turns and learn the facts their user turns (and the `earlier` stored ones)
        state: the one write path.

        Rules run at once; an LLM extractor runs in the background when asked (after a reply
        has streamed), else before returning. Its failure never loses the stored turns.
        """
        if self.extractor is None:
            said = [t.text for t in turns if t.role == "user" and t.kind == "turn"]
            said = [t for t in said if not orders_in(t)]  # an order teaches no fact
            with self.store.batch(user, persona_id):  # one Chroma write; others hear once
                stored = self.store.remember(
                    user, persona_id, turns, [p for t in said for p in pieces(t)]
                )
                learned = [*earlier, *stored]
                teach = [t for t in learned if not orders_in(t.text)]
                changes = [c for t in teach for c in self.factbook.learn(user, persona_id, t)]
            self._count_ahead(stored + [c.fact for c in changes if c.action != "removed"])
            if background and self.situations_by is not None:
                _BACKGROUND.submit(self.expand, user, persona_id, changes)
            return Saved(learned, changes)
        stored = self.store.remember(user, persona_id, turns)
        self._count_ahead(stored)
        extractor, learned = self.extractor, [*earlier, *stored]
        teach = [t for t in learned if not orders_in(t.text)]  # nor would a model's paraphrase

        def job() -> list[FactChange]:
            with self.store.batch(user, persona_id, hold=False):  # a model call: write as it goes
                changes = [c for t in teach for c in extractor.learn(user, persona_id, t)]
            if self.situations_by is not None:  # after the facts, which the page waits for
                _BACKGROUND.submit(self.expand, user, persona_id, changes)
            return changes

        saved = Saved(learned, pending=_BACKGROUND.submit(job))
        return saved if background else saved.wait()

    def expand(self, user: str, persona_id: str, changes: list[FactChange]) -> int:
        """Where each new or changed fact matters: a few situations from the fact model,
        stored with the fact. Returns how many facts got them; a fact the model fails on, or
        that was edited meanwhile, is left as it is."""
        done = 0
        for change in changes if self.situations_by is not None else ():
            if change.action not in ("added", "changed"):
                continue
            try:
                found = write_situations(self.situations_by, change.fact)
                text = change.fact.text
                done += bool(found and self.store.set_situations(
                    user, persona_id, change.fact.id, found, for_text=text))  # fmt: skip
            except PersonaLabError:
                continue
        return done

    def prewarm(self, user: str, persona: Persona, session: str) -> int:
        """Warm the local model's cache with the start of this conversation's next
        personalized prompt (profile, facts, recent turns), so the next message evaluates only
        its own part (when not every fact fits, the facts it adds for itself too). Returns the
        tokens evaluated: 0 when there is nothing to warm (no model of this process, warming
        off)."""
        if not self._warms:
            return 0
        scope = self.store.scope(user, persona.id)
        facts, _ = set_aside_orders([ScoredMemory(f) for f in scope.facts_and_situations()[0]])
        recent = scope.session_turns(session, last=max(self.settings.recent_turns, 0))
        plan = self.plan(ColumnKind.PERSONALIZED, "", persona, Recall(facts, [], recent))
        return self.backend.warm(plan.messages[:-1])

    def warm_up(self, user: str, persona: Persona, session: str) -> None:
        """Queue prewarm for a persona just opened, so its first message finds the profile and
        facts evaluated while the person types; nothing when this model cannot warm."""
        if self._warms:
            _BACKGROUND.submit(self._prewarm_quietly, user, persona, session)

    @property
    def _warms(self) -> bool:
        """Whether replies warm the cache of the next prompt: a model of this process, on."""
        return self.settings.prewarm and hasattr(self.backend, "warm")

    @staticmethod
    def settle() -> None:
        """Wait until the work queued after replies (facts, situations, warming) is done."""
        _BACKGROUND.submit(lambda: None).result()

    def arrived(
        self, user: str, persona_id: str, message: str, session: str, metadata: dict | None = None
    ) -> Memory | None:
        """Store the user's turn now, marked unanswered (the same turn again when a message
        that got no reply is sent again); None when it could not be stored. persona_id is any
        scope: a persona's, or a group's."""
        last = self.store.scope(user, persona_id).session_turns(session, last=1)
        waiting = last[0] if last else None
        if (
            waiting is not None
            and waiting.role == "user"
            and waiting.metadata.get("answered") is False
            and waiting.text == redact(message).strip()  # as it was stored
        ):
            return waiting
        try:
            turn = NewMemory(
                message, "user", session, metadata={"answered": False} | (metadata or {})
            )
            (stored,) = self.store.remember(user, persona_id, [turn])
        except MemoryStoreError:
            return None  # the reply still comes; saving it afterwards says what failed
        return stored

    def _count_ahead(self, memories: list[Memory]) -> None:
        """Size new memories in the model's tokens now (the counts are cached), so the next
        reply's prompt does not wait on the tokenizer for the turns and facts just written."""
        for memory in memories:
            for text in counted_texts(memory):
                self.budget.count(text)

    def _saver(self, user: str, persona: Persona, said: Memory | None, session: str):
        def save(reply: Reply) -> Saved:
            items = [] if said else [NewMemory(reply.plan.question, "user", session)]
            if reply.text:
                meta = {"model": reply.backend.name}
                items.append(NewMemory(reply.text, "assistant", session, metadata=meta))
            if said is not None and reply.text:
                self.store.annotate(user, persona.id, said.id, answered=True)
            earlier = (said,) if said is not None else ()
            saved = self.remember(user, persona.id, items, background=True, earlier=earlier)
            if reply.plan.kind is ColumnKind.PERSONALIZED:  # queued after its facts
                self.warm_up(user, persona, session)
            return saved

        return save

    def _prewarm_quietly(self, user: str, persona: Persona, session: str) -> None:
        # a cache left cold costs the next message time, nothing more
        with contextlib.suppress(PersonaLabError):
            self.prewarm(user, persona, session)
