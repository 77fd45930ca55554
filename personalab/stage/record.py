"""A reply as the pages show and export it: typed, read from Reply.to_json() or a saved session."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MemoryView(_View):
    text: str
    role: str = "user"
    category: str = ""
    pinned: bool = False
    when: str = ""


class Hit(_View):
    """A recalled fact or turn with its score and the parts of that score."""

    memory: MemoryView
    score: float = 0.0
    parts: dict[str, float] = Field(default_factory=dict)


class Message(_View):
    role: str
    content: str


class PersonaField(_View):
    field: str
    value: str


class SetAside(_View):
    """A memory kept out of the prompt because it gives the assistant orders, and why."""

    kind: str = "turn"
    text: str
    why: str = ""


class PromptView(_View):
    """What one reply was asked with, and what went into it."""

    messages: list[Message] = Field(default_factory=list)
    facts: list[Hit] = Field(default_factory=list)
    memories: list[Hit] = Field(default_factory=list)
    persona_fields: list[PersonaField] = Field(default_factory=list)
    recent_turns: int = 0
    facts_left_out: int = 0
    held_back: int = 0
    score_formula: str = ""
    set_aside: list[SetAside] = Field(default_factory=list)


class StatsView(_View):
    first_token_s: float
    total_s: float
    chunks: int = 0
    chunks_per_s: float = 0.0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    queued_s: float = 0.0
    queued_behind: int = 0


class CheckSpec(_View):
    """A check's rule: its constraint, where it came from, and how it is checked."""

    model_config = ConfigDict(extra="allow", frozen=True)
    constraint: str
    source: str = "persona"

    @property
    def rule(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in (self.model_extra or {}).items())


class SpanView(_View):
    start: int
    end: int
    text: str


class ResultView(_View):
    check: CheckSpec
    passed: bool
    detail: str = ""
    spans: list[SpanView] = Field(default_factory=list)


class ChecksView(_View):
    passed: bool = True
    checks: list[ResultView] = Field(default_factory=list)


class AttemptView(_View):
    text: str
    passed: bool = False
    failed: list[str] = Field(default_factory=list)


class GuardView(_View):
    summary: str = ""
    attempts: list[AttemptView] = Field(default_factory=list)


class VerdictView(_View):
    errors: dict[str, bool] = Field(default_factory=dict)
    uses_fact: bool | None = None
    explanation: str = ""
    model: str = ""
    raw: str = ""


class FactChangeView(_View):
    action: str
    fact: MemoryView


class SavedView(_View):
    facts: list[FactChangeView] = Field(default_factory=list)
    facts_error: str | None = None
    facts_pending: bool = False


class ReplyRecord(_View):
    """One answered column: its text and everything shown under it."""

    kind: str
    text: str = ""
    model: str = ""
    persona: str = ""
    persona_name: str = ""
    stats: StatsView | None = None
    prompt: PromptView = Field(default_factory=PromptView)
    checks: ChecksView | None = None
    guard: GuardView | None = None
    judge: VerdictView | None = None
    judge_error: str | None = None
    judge_pending: bool = False
    memory_error: str | None = None
    saved: SavedView | None = None

    @classmethod
    def of(cls, data: dict | ReplyRecord) -> ReplyRecord:
        """The record of a reply's JSON (as Reply.to_json gives or a session export holds)."""
        return data if isinstance(data, ReplyRecord) else cls.model_validate(data)

    @property
    def results(self) -> list[ResultView]:
        return self.checks.checks if self.checks else []
