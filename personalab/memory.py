"""MemoryStore on Chroma: one collection per user x persona; write, search, list, delete, export."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from personalab.embedding import Embedder
from personalab.errors import MemoryStoreError
from personalab.personas import slugify
from personalab.redaction import redact

MAX_BATCH = 5000  # Chroma accepts at most 5,461 records per add
EXTRA_PREFIX = "x."


@dataclass(frozen=True)
class Memory:
    """One stored memory: a conversation turn (kind 'turn') or, later, an extracted fact."""

    id: str
    text: str
    role: str
    created_at: float
    session: str
    user: str
    persona: str
    kind: str = "turn"
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, tz=UTC)

    def to_json(self) -> dict:
        return asdict(self) | {"when": self.when.isoformat(timespec="seconds")}


@dataclass(frozen=True)
class ScoredMemory:
    """A memory found for a query, with the parts of its score."""

    memory: Memory
    similarity: float
    recency: float = 0.0
    score: float = 0.0

    def to_json(self) -> dict:
        return {
            "memory": self.memory.to_json(),
            "similarity": round(self.similarity, 4),
            "recency": round(self.recency, 4),
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class NewMemory:
    """What to write: the store assigns the id and, unless given, the time."""

    text: str
    role: str
    session: str
    kind: str = "turn"
    created_at: float | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)


def open_client(path: Path) -> chromadb.ClientAPI:
    """An embedded Chroma client on `path` (created if needed). Use one per process."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MemoryStoreError(
            f"cannot create memory directory {path}: {exc.strerror or exc}. "
            "Set PERSONALAB_MEMORY_DIR to a writable folder"
        ) from exc
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise MemoryStoreError(
            f"memory directory {path} is not readable and writable by this user. "
            "Fix its permissions or set PERSONALAB_MEMORY_DIR to another folder"
        )
    try:
        return chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
    except Exception as exc:  # Chroma raises assorted errors for a damaged or foreign folder
        raise MemoryStoreError(f"cannot open the memory store in {path}: {exc}") from exc


def collection_name(user: str, persona: str) -> str:
    """A valid Chroma collection name unique to this (user, persona) pair."""
    digest = hashlib.sha256(f"{user}\0{persona}".encode()).hexdigest()[:12]
    return f"pl-{slugify(user)[:40]}-{slugify(persona)[:40]}-{digest}"


class MemoryStore:
    """Conversation memory scoped per user x persona. Takes a Chroma client and an Embedder."""

    def __init__(self, client: chromadb.ClientAPI, embedder: Embedder):
        self.client = client
        self.embedder = embedder

    def _collection(self, user: str, persona: str, create: bool = True):
        """The scope's collection; None when it does not exist and create is False."""
        name = collection_name(user, persona)
        try:
            if create:
                return self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"user": user, "persona": persona},
                )
            return self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None
        except Exception as exc:
            raise MemoryStoreError(
                f"cannot open memories of {user}/{persona}: {_reason(exc)}"
            ) from exc

    def remember(self, user: str, persona: str, items: Iterable[NewMemory]) -> list[Memory]:
        """Embed and store items (secrets redacted); returns them as stored."""
        now = time.time()
        memories = [
            Memory(
                id=uuid.uuid4().hex,
                text=redact(item.text),
                role=item.role,
                created_at=item.created_at if item.created_at is not None else now + i * 1e-6,
                session=item.session,
                user=user,
                persona=persona,
                kind=item.kind,
                metadata=dict(item.metadata),
            )
            for i, item in enumerate(items)
            if item.text.strip()
        ]
        if not memories:
            return []
        collection = self._collection(user, persona)
        vectors = self.embedder.embed([m.text for m in memories])
        try:
            for start in range(0, len(memories), MAX_BATCH):
                chunk = memories[start : start + MAX_BATCH]
                collection.add(
                    ids=[m.id for m in chunk],
                    documents=[m.text for m in chunk],
                    embeddings=vectors[start : start + MAX_BATCH],
                    metadatas=[_to_metadata(m) for m in chunk],
                )
        except Exception as exc:
            raise MemoryStoreError(f"could not save to memory: {_reason(exc)}") from exc
        return memories

    def search(
        self, user: str, persona: str, query: str, k: int, exclude_ids: Iterable[str] = ()
    ) -> list[ScoredMemory]:
        """The k memories most similar to query (cosine similarity), best first."""
        collection = self._collection(user, persona, create=False)
        exclude = set(exclude_ids)
        if collection is None or k <= 0:
            return []
        n = min(k + len(exclude), collection.count())
        if n == 0:
            return []
        vector = self.embedder.embed_one(query)
        try:
            res = collection.query(
                query_embeddings=[vector],
                n_results=n,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise MemoryStoreError(f"could not search memory: {_reason(exc)}") from exc
        found = [
            ScoredMemory(memory=_from_record(i, d, m), similarity=1.0 - dist)
            for i, d, m, dist in zip(
                res["ids"][0],
                res["documents"][0],
                res["metadatas"][0],
                res["distances"][0],
                strict=True,
            )
            if i not in exclude
        ]
        return found[:k]

    def list(self, user: str, persona: str, session: str | None = None) -> list[Memory]:
        """All memories of this scope (or of one session), oldest first."""
        collection = self._collection(user, persona, create=False)
        if collection is None:
            return []
        try:
            res = collection.get(
                where={"session": session} if session else None,
                include=["documents", "metadatas"],
            )
        except Exception as exc:
            raise MemoryStoreError(f"could not read memory: {_reason(exc)}") from exc
        items = [
            _from_record(*r)
            for r in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        ]
        return sorted(items, key=lambda m: m.created_at)

    def count(self, user: str, persona: str) -> int:
        collection = self._collection(user, persona, create=False)
        return 0 if collection is None else collection.count()

    def delete(self, user: str, persona: str, ids: Iterable[str]) -> None:
        """Delete the given memories of this scope."""
        ids = list(ids)
        collection = self._collection(user, persona, create=False)
        if collection is None or not ids:
            return
        try:
            collection.delete(ids=ids)
        except Exception as exc:
            raise MemoryStoreError(f"could not delete memories: {_reason(exc)}") from exc

    def forget_all(self, user: str, persona: str) -> None:
        """Delete every memory of this user x persona."""
        if self._collection(user, persona, create=False) is not None:
            try:
                self.client.delete_collection(collection_name(user, persona))
            except Exception as exc:
                raise MemoryStoreError(f"could not forget memories: {_reason(exc)}") from exc

    def export_jsonl(self, user: str, persona: str) -> Iterator[str]:
        """One JSON line per memory, oldest first (no embeddings)."""
        for memory in self.list(user, persona):
            yield json.dumps(memory.to_json(), ensure_ascii=False)


def _to_metadata(m: Memory) -> dict:
    meta = {f"{EXTRA_PREFIX}{k}": v for k, v in m.metadata.items()}
    return meta | {
        "role": m.role,
        "kind": m.kind,
        "created_at": m.created_at,
        "session": m.session,
        "user": m.user,
        "persona": m.persona,
    }


def _from_record(memory_id: str, text: str, meta: dict) -> Memory:
    return Memory(
        id=memory_id,
        text=text,
        role=str(meta.get("role", "")),
        created_at=float(meta.get("created_at", 0.0)),
        session=str(meta.get("session", "")),
        user=str(meta.get("user", "")),
        persona=str(meta.get("persona", "")),
        kind=str(meta.get("kind", "turn")),
        metadata={
            k.removeprefix(EXTRA_PREFIX): v for k, v in meta.items() if k.startswith(EXTRA_PREFIX)
        },
    )


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "No space left" in text or getattr(exc, "errno", None) == 28:
        return "the disk is full; free some space and try again"
    if "readonly" in text.lower() or "read-only" in text.lower():
        return "the memory directory is read-only; check PERSONALAB_MEMORY_DIR"
    return text or type(exc).__name__
