"""MemoryStore on Chroma: one collection per user x persona, mirrored in process for fast recall."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from personalab.embedding import Embedder
from personalab.errors import MemoryStoreError
from personalab.index import ScopeIndex
from personalab.personas import slugify
from personalab.records import Memory, NewMemory, Revision
from personalab.redaction import redact

MAX_BATCH = 5000  # Chroma accepts at most 5,461 records per add
PAGE = 5000  # records per read when a scope is loaded
MAX_SCOPES = 64  # scopes mirrored in process at once (least recently used are dropped)
MARKS = "personalab-scopes"  # one record per scope: when it was seeded, and the like


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
    """Turns and facts scoped per user x persona. Takes a Chroma client and an Embedder.

    Every read is answered from the scope's in-process mirror (ScopeIndex) but the dense
    nearest-neighbour query, which Chroma answers; every change goes to Chroma first.
    """

    def __init__(self, client: chromadb.ClientAPI, embedder: Embedder):
        self.client = client
        self.embedder = embedder
        self._lock = threading.Lock()
        self._scopes: OrderedDict[str, ScopeIndex] = OrderedDict()
        self._collections: dict[str, object] = {}

    # -- reading ---------------------------------------------------------------------------

    def scope(self, user: str, persona: str) -> ScopeIndex:
        """The scope's mirror, loaded from Chroma on first use in this process."""
        name = collection_name(user, persona)
        with self._lock:
            index = self._scopes.get(name)
            if index is not None:
                self._scopes.move_to_end(name)
                return index
            index = ScopeIndex(self.embedder.dimension)
            index.lock.acquire()  # hold it so that readers wait for the load, not the store
            self._scopes[name] = index
            while len(self._scopes) > MAX_SCOPES:
                self._scopes.popitem(last=False)
        try:
            self._load(name, index)
        except BaseException:
            with self._lock:
                self._scopes.pop(name, None)
            raise
        finally:
            index.lock.release()
        return index

    def dense(
        self, user: str, persona: str, vector: list[float], n: int
    ) -> list[tuple[str, float]]:
        """The n stored records nearest to vector, as (id, cosine similarity), best first."""
        scope = self.scope(user, persona)
        collection = self._collection(user, persona, create=False)
        if collection is None or n <= 0 or not len(scope):
            return []
        try:
            res = collection.query(
                query_embeddings=[vector], n_results=min(n, len(scope)), include=["distances"]
            )
        except Exception as exc:
            raise MemoryStoreError(f"could not search memory: {_reason(exc)}") from exc
        return [(i, 1.0 - d) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def list(
        self, user: str, persona: str, session: str | None = None, kind: str | None = None
    ) -> list[Memory]:
        """The memories of this scope (or of one session, or one kind), oldest first."""
        scope = self.scope(user, persona)
        if session is not None:
            items = scope.session_turns(session)
        else:
            with scope.lock:
                items = list(scope.records.values())
        if kind is not None:
            items = [m for m in items if m.kind == kind]
        return sorted(items, key=lambda m: (m.created_at, m.id))

    def get(self, user: str, persona: str, memory_id: str) -> Memory | None:
        return self.scope(user, persona).records.get(memory_id)

    def count(self, user: str, persona: str) -> int:
        return len(self.scope(user, persona))

    def export_jsonl(self, user: str, persona: str) -> Iterator[str]:
        """One JSON line per memory, oldest first (no embeddings)."""
        for memory in self.list(user, persona):
            yield json.dumps(memory.to_json(), ensure_ascii=False)

    # -- writing ---------------------------------------------------------------------------

    def remember(self, user: str, persona: str, items: Iterable[NewMemory]) -> list[Memory]:
        """Embed and store items (secrets redacted); returns them as stored."""
        now = time.time()
        memories = [
            Memory(
                id=uuid.uuid4().hex,
                text=redact(item.text).strip(),
                role=item.role,
                created_at=item.created_at if item.created_at is not None else now + i * 1e-6,
                session=item.session,
                user=user,
                persona=persona,
                kind=item.kind,
                metadata=dict(item.metadata),
                category=item.category,
                key=item.key,
                sources=tuple(item.sources),
                private=item.private,
            )
            for i, item in enumerate(items)
            if item.text.strip()
        ]
        if memories:
            self._write(user, persona, memories, self.embedder.embed([m.text for m in memories]))
        return memories

    def restore(self, user: str, persona: str, memories: list[Memory]) -> list[Memory]:
        """Store memories exactly as given (ids, times, history kept), e.g. from an export."""
        memories = [m.evolve(user=user, persona=persona, text=redact(m.text)) for m in memories]
        if memories:
            self._write(user, persona, memories, self.embedder.embed([m.text for m in memories]))
        return memories

    def replace(
        self, user: str, persona: str, memory: Memory, vector: list[float] | None = None
    ) -> Memory:
        """Overwrite a stored memory (same id), with vector or else its text embedded again."""
        memory = memory.evolve(text=redact(memory.text).strip())
        scope = self.scope(user, persona)
        collection = self._collection(user, persona)
        if vector is None:
            vector = self.embedder.embed_one(memory.text)
        with scope.lock:
            try:
                collection.upsert(
                    ids=[memory.id],
                    documents=[memory.text],
                    embeddings=[vector],
                    metadatas=[memory.to_metadata()],
                )
            except Exception as exc:
                raise MemoryStoreError(f"could not save to memory: {_reason(exc)}") from exc
            scope.add([memory], [vector])
        return memory

    def edit(self, user: str, persona: str, memory_id: str, text: str) -> Memory:
        """Change a memory's words (embedded again); the old words stay in its history."""
        old = self.get(user, persona, memory_id)
        if old is None:
            raise MemoryStoreError(f"no memory {memory_id!r} for {user}/{persona}")
        if not text.strip():
            raise MemoryStoreError("a memory cannot be empty; delete it instead")
        revision = Revision(old.text, old.changed_at, "", "edited")
        new = old.evolve(
            text=text.strip(), updated_at=time.time(), history=old.history + (revision,)
        )
        return self.replace(user, persona, new)

    def set_private(self, user: str, persona: str, ids: Iterable[str], private: bool) -> int:
        """Mark memories private (kept from models not on this machine) or not; returns count."""
        scope = self.scope(user, persona)
        collection = self._collection(user, persona, create=False)
        changed = [m.evolve(private=private) for i in ids if (m := scope.records.get(i))]
        if collection is None or not changed:
            return 0
        with scope.lock:
            try:
                collection.update(
                    ids=[m.id for m in changed], metadatas=[m.to_metadata() for m in changed]
                )
            except Exception as exc:
                raise MemoryStoreError(f"could not save to memory: {_reason(exc)}") from exc
            for memory in changed:  # the vector is unchanged: update the mirror in place
                scope.records[memory.id] = memory
        return len(changed)

    def delete(self, user: str, persona: str, ids: Iterable[str]) -> None:
        """Delete the given memories of this scope."""
        ids = list(ids)
        scope = self.scope(user, persona)
        collection = self._collection(user, persona, create=False)
        if collection is None or not ids:
            return
        with scope.lock:
            try:
                collection.delete(ids=ids)
            except Exception as exc:
                raise MemoryStoreError(f"could not delete memories: {_reason(exc)}") from exc
            scope.remove(ids)

    def forget_all(self, user: str, persona: str) -> None:
        """Delete every memory of this user x persona."""
        name = collection_name(user, persona)
        if self._collection(user, persona, create=False) is not None:
            try:
                self.client.delete_collection(name)
            except Exception as exc:
                raise MemoryStoreError(f"could not forget memories: {_reason(exc)}") from exc
        with self._lock:
            self._scopes.pop(name, None)
            self._collections.pop(name, None)

    def mark(self, user: str, persona: str, name: str, value: float | str | bool) -> None:
        """Remember a fact about the scope itself (e.g. when it was seeded); outlives forget_all."""
        marks = self._marks()
        key = collection_name(user, persona)
        current = self.marks(user, persona) | {name: value}
        try:
            marks.upsert(ids=[key], embeddings=[[0.0]], metadatas=[current], documents=[key])
        except Exception as exc:
            raise MemoryStoreError(f"could not save to memory: {_reason(exc)}") from exc

    def marks(self, user: str, persona: str) -> dict:
        found = self._marks().get(ids=[collection_name(user, persona)], include=["metadatas"])
        return dict(found["metadatas"][0] or {}) if found["ids"] else {}

    def marked(self, user: str, persona: str, name: str) -> bool:
        return name in self.marks(user, persona)

    # -- internals -------------------------------------------------------------------------

    def _marks(self):
        found = self._collections.get(MARKS)
        if found is None:
            try:
                found = self.client.get_or_create_collection(MARKS, embedding_function=None)
            except Exception as exc:
                raise MemoryStoreError(f"cannot open the memory store: {_reason(exc)}") from exc
            self._collections[MARKS] = found
        return found

    def _write(
        self, user: str, persona: str, memories: list[Memory], vectors: list[list[float]]
    ) -> None:
        scope = self.scope(user, persona)
        collection = self._collection(user, persona)
        with scope.lock:
            try:
                for start in range(0, len(memories), MAX_BATCH):
                    chunk = memories[start : start + MAX_BATCH]
                    collection.upsert(
                        ids=[m.id for m in chunk],
                        documents=[m.text for m in chunk],
                        embeddings=vectors[start : start + MAX_BATCH],
                        metadatas=[m.to_metadata() for m in chunk],
                    )
            except Exception as exc:
                raise MemoryStoreError(f"could not save to memory: {_reason(exc)}") from exc
            scope.add(memories, vectors)

    def _collection(self, user: str, persona: str, create: bool = True):
        """The scope's collection; None when it does not exist and create is False."""
        name = collection_name(user, persona)
        found = self._collections.get(name)
        if found is not None:
            return found
        try:
            if create:
                found = self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"user": user, "persona": persona},
                )
            else:
                found = self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None
        except Exception as exc:
            raise MemoryStoreError(
                f"cannot open memories of {user}/{persona}: {_reason(exc)}"
            ) from exc
        self._collections[name] = found
        return found

    def _load(self, name: str, index: ScopeIndex) -> None:
        """Fill a new mirror from Chroma: every record, and the vectors of the facts."""
        try:
            collection = self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return
        except Exception as exc:
            raise MemoryStoreError(f"cannot open memories: {_reason(exc)}") from exc
        self._collections[name] = collection
        try:
            turns: list[Memory] = []
            offset = 0
            while True:
                page = collection.get(
                    where={"kind": "turn"},
                    include=["documents", "metadatas"],
                    limit=PAGE,
                    offset=offset,
                )
                turns += [
                    Memory.from_record(*r)
                    for r in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
                ]
                offset += PAGE
                if len(page["ids"]) < PAGE:
                    break
            facts = collection.get(
                where={"kind": "fact"}, include=["documents", "metadatas", "embeddings"]
            )
        except Exception as exc:
            raise MemoryStoreError(f"could not read memory: {_reason(exc)}") from exc
        index.add(turns, [None] * len(turns))
        fact_records = zip(facts["ids"], facts["documents"], facts["metadatas"], strict=True)
        index.add(
            [Memory.from_record(*r) for r in fact_records],
            [list(v) for v in facts["embeddings"]],
        )


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "No space left" in text or getattr(exc, "errno", None) == 28:
        return "the disk is full; free some space and try again"
    if "readonly" in text.lower() or "read-only" in text.lower():
        return "the memory directory is read-only; check PERSONALAB_MEMORY_DIR"
    return text or type(exc).__name__
