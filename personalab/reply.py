"""A reply being streamed: its chunks, timings, checks, guard, what it saved, and the judge's
verdict (rated off the stream once it has ended)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from personalab.errors import MemoryStoreError, PersonaLabError
from personalab.facts.book import FactChange
from personalab.models.backends import ChatBackend, GenerationOptions
from personalab.prompts import PromptPlan
from personalab.records import Memory
from personalab.replies.checks import Check, CheckReport, check_reply
from personalab.replies.guard import GuardLog, GuardPolicy, guarded
from personalab.replies.judge import Judge, Verdict

# The judge rates a reply once it has streamed, off the stream, one reply at a time.
_JUDGING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="personalab-judge")


@dataclass(frozen=True)
class ReplyStats:
    """Timings of one streamed reply, measured around the backend's stream."""

    first_token_s: float
    total_s: float
    chunks: int
    # The prompt's tokens and how many the model took from its cache of earlier prefixes
    # (in-process llama.cpp only; 0 where the backend does not say).
    prompt_tokens: int = 0
    reused_tokens: int = 0
    # Time spent waiting for a one-at-a-time model held by other requests (in the first
    # token's time), and how many requests were ahead on arrival.
    queued_s: float = 0.0
    queued_behind: int = 0

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
            "prompt_tokens": self.prompt_tokens,
            "reused_tokens": self.reused_tokens,
            "queued_s": round(self.queued_s, 4),
            "queued_behind": self.queued_behind,
        }


@dataclass
class Saved:
    """What one exchange wrote: its turns now, its fact changes now or (LLM) a little later."""

    turns: list[Memory] = field(default_factory=list)
    facts: list[FactChange] = field(default_factory=list)
    facts_error: str | None = None
    pending: Future | None = None

    def wait(self, timeout: float | None = None) -> Saved:
        """Wait for fact extraction running in the background (if any) to finish."""
        if self.pending is not None:
            try:
                self.facts = self.pending.result(timeout=timeout)
            except TimeoutError:
                return self
            except PersonaLabError as exc:
                self.facts_error = str(exc)
            self.pending = None
        return self

    def to_json(self) -> dict:
        return {
            "turns": [m.id for m in self.turns],
            "facts": [c.to_json() for c in self.facts],
            "facts_error": self.facts_error,
            "facts_pending": self.pending is not None,
        }


class Reply:
    """A reply being streamed: iterate it for text chunks; then .text, .stats and .saved are set."""

    def __init__(
        self,
        plan: PromptPlan,
        backend: ChatBackend,
        options: GenerationOptions,
        on_complete: Callable[[Reply], Saved] | None = None,
        checks: list[Check] | None = None,
        guard: GuardPolicy | None = None,
        judge: Judge | None = None,
    ):
        self.plan = plan
        self.backend = backend
        self.options = options
        self.on_complete = on_complete
        self.checks = checks or []
        # a retry repeats the broken rules to the model: private ones only to a local model
        self.guard_checks = [c for c in self.checks if backend.is_local or not c.private]
        self.guard = guard
        self.judge = judge
        self.verdict: Verdict | None = None
        self.judge_error: str | None = None
        self.judging: Future | None = None  # the judge runs off the stream, once it has ended
        self.text = ""
        self.stats: ReplyStats | None = None
        self.report: CheckReport | None = None
        self.guard_log: GuardLog | None = None
        self.saved: Saved | None = None
        self.memory_error: str | None = None

    def __iter__(self) -> Iterator[str]:
        if self.stats is not None:  # streamed already: replay, never generate or save twice
            yield self.text
            return
        start = time.perf_counter()
        first, parts, prompt, queued = 0.0, [], None, (0, 0.0)
        if self.guard is not None:
            self.guard_log = GuardLog()
            source = guarded(
                self.backend,
                self.plan.messages,
                self.options,
                self.guard_checks,
                self.guard,
                self.guard_log,
            )
        else:
            source = self.backend.stream(self.plan.messages, self.options)
        for chunk in source:
            if not parts:
                first = time.perf_counter() - start
                prompt = getattr(self.backend, "last_prompt", None)  # read while it is ours
                turns = getattr(self.backend, "turns", None)
                queued = turns.last_wait() if turns is not None else queued
            parts.append(chunk)
            yield chunk
        self.text = "".join(parts).strip()
        if self.guard_log is not None and self.guard_log.attempts:
            self.text = self.guard_log.attempts[-1].text  # the markers and earlier tries go
        self.stats = ReplyStats(
            first,
            time.perf_counter() - start,
            len(parts),
            prompt.tokens if prompt else 0,
            prompt.reused if prompt else 0,
            queued[1],
            queued[0],
        )
        self.report = check_reply(self.text, self.checks)
        if self.on_complete is not None:
            try:
                self.saved = self.on_complete(self)
            except MemoryStoreError as exc:
                self.memory_error = str(exc)
        if self.judge is not None:
            self.judging = _JUDGING.submit(self._rate)

    def _rate(self) -> None:
        try:
            self.verdict = self.judge.rate(self.judge_facts(), self.plan.question, self.text)
        except PersonaLabError as exc:
            self.judge_error = str(exc)

    def wait_judge(self, timeout_s: float | None = None) -> bool:
        """Wait for the judge's verdict (or its error); False if it is still rating."""
        if self.judging is None:
            return True
        try:
            self.judging.result(timeout_s)
        except TimeoutError:
            return False
        return True

    def judge_facts(self, judge: Judge | None = None) -> list[str]:
        """What the judge (this reply's, or the one given) is told about the user: the checked
        rules and the prompt's facts, private ones only when the judge runs on this machine."""
        judge = judge or self.judge
        local = judge is None or judge.backend.is_local
        facts = [c.constraint for c in self.checks if local or not c.private]
        facts += [f.memory.text for f in self.plan.facts if local or not f.memory.private]
        return list(dict.fromkeys(facts))

    def read(self) -> str:
        """Consume the whole stream and return the text (and wait for the judge, if any)."""
        for _ in self:
            pass
        self.wait_judge()
        return self.text

    def to_json(self) -> dict:
        return {
            "kind": self.plan.kind.value,
            "text": self.text,
            "model": self.backend.name,
            "stats": self.stats.to_json() if self.stats else None,
            "prompt": self.plan.to_json(),
            "checks": self.report.to_json() if self.report else None,
            "guard": self.guard_log.to_json() if self.guard_log else None,
            "judge": self.verdict.to_json() if self.verdict else None,
            "judge_error": self.judge_error,
            "judge_pending": self.judging is not None and not self.judging.done(),
            "memory_error": self.memory_error,
            "saved": self.saved.to_json() if self.saved else None,
        }
