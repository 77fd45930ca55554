"""The memory records: a stored turn or fact, a fact's earlier values, a scored recall hit."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime

from personalab.errors import MemoryStoreError

EXTRA_PREFIX = "x."
KINDS = ("turn", "fact")
ROLES = ("user", "assistant")
Scalar = str | int | float | bool
MAX_SITUATIONS = 8  # per fact
MAX_SITUATION_CHARS = 80


@dataclass(frozen=True)
class Revision:
    """An earlier value of a fact: its text, when it was current, the turn it came from, why."""

    text: str
    at: float
    source: str = ""
    change: str = "changed"  # restated | changed | edited

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Memory:
    """One stored memory: a conversation turn, or a durable fact about the user."""

    id: str
    text: str
    role: str
    created_at: float
    session: str
    user: str
    persona: str
    kind: str = "turn"
    metadata: dict[str, Scalar] = field(default_factory=dict)
    updated_at: float = 0.0
    private: bool = False  # never sent to a model that is not on this machine
    # Facts only: pinned by the user (kept ahead of relevance when not every fact fits a
    # prompt), what the fact is about, the turns it came from, and its earlier values.
    pinned: bool = False
    category: str = ""
    key: str = ""
    sources: tuple[str, ...] = ()
    history: tuple[Revision, ...] = ()
    # Facts only: short situations where the fact matters ("parties", "gifts"), written by a
    # local model once per fact; recall matches a message against them too.
    situations: tuple[str, ...] = ()

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, tz=UTC)

    @property
    def changed_at(self) -> float:
        return self.updated_at or self.created_at

    def to_json(self) -> dict:
        data = asdict(self)
        data["sources"] = list(self.sources)
        data["history"] = [r.to_json() for r in self.history]
        data["situations"] = list(self.situations)
        return data | {"when": self.when.isoformat(timespec="seconds")}

    @classmethod
    def from_json(cls, data: dict) -> Memory:
        """The inverse of to_json (unknown keys ignored); raises ValueError on a bad record."""
        if not isinstance(data, dict):
            raise ValueError("each line must be a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        missing = {"id", "text", "role", "created_at", "session", "user", "persona"} - set(values)
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        if not isinstance(values.get("metadata", {}), dict):
            raise ValueError("metadata must be an object")
        try:
            values["sources"] = tuple(str(s) for s in values.get("sources") or ())
            values["history"] = tuple(Revision(**r) for r in values.get("history") or ())
        except TypeError as exc:
            raise ValueError("history entries need text, at, source and change") from exc
        situations = values.get("situations") or ()
        if not isinstance(situations, list | tuple) or not all(
            isinstance(s, str) for s in situations
        ):
            raise ValueError("situations must be a list of texts")
        values["situations"] = tuple(situations)
        memory = cls(**values)
        memory.validate()
        return memory

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {self.role!r}")
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError("text must be a non-empty string")
        if not isinstance(self.created_at, int | float) or isinstance(self.created_at, bool):
            raise ValueError("created_at must be a number (seconds since 1970)")
        for name in ("private", "pinned"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if self.pinned and self.kind != "fact":
            raise ValueError("only a fact can be pinned")
        if self.situations and self.kind != "fact":
            raise ValueError("only a fact has situations")
        if len(self.situations) > MAX_SITUATIONS or any(
            not s.strip() or len(s) > MAX_SITUATION_CHARS for s in self.situations
        ):
            raise ValueError(
                f"a fact has at most {MAX_SITUATIONS} situations, each 1-{MAX_SITUATION_CHARS} "
                "characters"
            )
        for name in ("id", "session", "user", "persona", "category", "key"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be text")
        for key, value in self.metadata.items():
            if not isinstance(value, Scalar):
                raise ValueError(f"metadata {key!r} must be text, a number or true/false")

    def to_metadata(self) -> dict[str, Scalar]:
        """Chroma metadata: scalars only; lists go in as JSON text."""
        meta: dict[str, Scalar] = {f"{EXTRA_PREFIX}{k}": v for k, v in self.metadata.items()}
        meta |= {
            "role": self.role,
            "kind": self.kind,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "private": self.private,
            "session": self.session,
            "user": self.user,
            "persona": self.persona,
        }
        if self.kind == "fact":
            meta |= {
                "pinned": self.pinned,
                "category": self.category,
                "key": self.key,
                "sources": json.dumps(list(self.sources)),
                "history": json.dumps([r.to_json() for r in self.history]),
                "situations": json.dumps(list(self.situations)),
            }
        return meta

    @classmethod
    def from_record(cls, memory_id: str, text: str, meta: dict) -> Memory:
        """The inverse of to_metadata, for a record read back from Chroma."""
        return cls(
            id=memory_id,
            text=text,
            role=str(meta.get("role", "user")),
            created_at=float(meta.get("created_at", 0.0)),
            session=str(meta.get("session", "")),
            user=str(meta.get("user", "")),
            persona=str(meta.get("persona", "")),
            kind=str(meta.get("kind", "turn")),
            metadata={
                k.removeprefix(EXTRA_PREFIX): v
                for k, v in meta.items()
                if k.startswith(EXTRA_PREFIX)
            },
            updated_at=float(meta.get("updated_at", 0.0)),
            private=bool(meta.get("private", False)),
            pinned=bool(meta.get("pinned", False)),
            category=str(meta.get("category", "")),
            key=str(meta.get("key", "")),
            sources=tuple(json.loads(meta.get("sources") or "[]")),
            history=tuple(Revision(**r) for r in json.loads(meta.get("history") or "[]")),
            situations=tuple(json.loads(meta.get("situations") or "[]")),
        )

    def evolve(self, **changes: object) -> Memory:
        return replace(self, **changes)


def situations_text(memory: Memory) -> str:
    """A fact's situations as the one text recall embeds: "parties; gifts; toasts"."""
    return "; ".join(memory.situations)


@dataclass(frozen=True)
class NewMemory:
    """What to write: the store assigns the id and, unless given, the time."""

    text: str
    role: str
    session: str
    kind: str = "turn"
    created_at: float | None = None
    metadata: dict[str, Scalar] = field(default_factory=dict)
    category: str = ""
    key: str = ""
    sources: tuple[str, ...] = ()
    private: bool = False


@dataclass(frozen=True)
class ScoredMemory:
    """A recalled memory with the parts of its score, and the turns around it."""

    memory: Memory
    score: float = 0.0
    similarity: float = 0.0  # cosine similarity to the message
    dense: float = 0.0  # similarity scaled to 0..1 among the candidates
    keyword: float = 0.0  # BM25 score
    keyword_scaled: float = 0.0  # BM25 scaled to 0..1 among the candidates
    recency: float = 0.0  # 1 now, halving every half-life
    neighbour: float = 0.0  # share of the best neighbouring turn's score
    before: Memory | None = None
    after: Memory | None = None

    def parts(self) -> dict[str, float]:
        return {
            "similarity": round(self.similarity, 4),
            "dense": round(self.dense, 4),
            "keyword": round(self.keyword, 4),
            "keyword_scaled": round(self.keyword_scaled, 4),
            "recency": round(self.recency, 4),
            "neighbour": round(self.neighbour, 4),
        }

    def to_json(self) -> dict:
        context = {
            side: {"role": m.role, "text": m.text} if m else None
            for side, m in (("before", self.before), ("after", self.after))
        }
        return {
            "kind": self.memory.kind,
            "memory": self.memory.to_json(),
            "score": round(self.score, 4),
            "parts": self.parts(),
            "context": context,
        }


def parse_export(lines: list[str]) -> list[Memory]:
    """Memories from the JSON lines `memory export` wrote; every bad line is named, and
    nothing is returned unless every line is good (so nothing is half-written)."""
    memories, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            memories.append(Memory.from_json(json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
        except (ValueError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise MemoryStoreError(f"nothing was imported: {shown}")
    return memories


def select(
    memories: list[Memory],
    words: str = "",
    kind: str | None = None,
    role: str | None = None,
    session: str | None = None,
    since: float | None = None,
    until: float | None = None,
    private_only: bool = False,
) -> list[Memory]:
    """The memories that pass every filter given: all the words (any case), the kind, role
    and session, created in [since, until) (timestamps), private ones only."""
    wanted = words.lower().split()
    return [
        m
        for m in memories
        if all(w in m.text.lower() for w in wanted)
        and kind in (None, m.kind)
        and role in (None, m.role)
        and session in (None, m.session)
        and (since is None or m.created_at >= since)
        and (until is None or m.created_at < until)
        and (m.private or not private_only)
    ]
