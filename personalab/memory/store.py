"""MemoryStore on Chroma: one collection per user x persona, mirrored in process for fast recall."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager

import chromadb
from chromadb.errors import NotFoundError

from personalab.embedding.embedder import Embedder
from personalab.errors import MemoryStoreError
from personalab.memory.batches import Batches, Queue
from personalab.memory.chroma import (
    collection_name,
    in_log,
    open_client,
    open_collection,
    open_server,
    upsert,
)
from personalab.memory.chroma import reason as _reason
from personalab.memory.index import ScopeIndex
from personalab.memory.marks import Revisions, ScopeMarks
from personalab.memory.reads import read_scope, situation_vectors
from personalab.records import Memory, NewMemory, Revision, Scalar
from personalab.text.redaction import redact

__all__ = ["MemoryStore", "collection_name", "open_client", "open_server"]

MAX_SCOPES = 64  # scopes mirrored in process at once (least recently used are dropped)


class MemoryStore:
    """Turns and facts scoped per user x persona. Takes a Chroma client and an Embedder.

    Every read is answered from the scope's in-process mirror (ScopeIndex) but the dense
    nearest-neighbour query, which Chroma answers; every change goes to Chroma first (in a
    `batch`, all of them at its end, in one write).
    With `shared=True` (a Chroma server used by several processes) each write leaves a new
    revision token, and a scope whose token another process changed is loaded again.
    """

    def __init__(self, client: chromadb.ClientAPI, embedder: Embedder, shared: bool = False):
        self.client = client
        self.embedder = embedder
        self.shared = shared
        self._lock = threading.Lock()
        self._scopes: OrderedDict[str, ScopeIndex] = OrderedDict()
        self._collections: dict[str, object] = {}
        self.marks_book = ScopeMarks(client)
        self.revisions = Revisions(self.marks_book)
        self._batches = Batches()

    # -- reading ---------------------------------------------------------------------------

    def scope(self, user: str, persona: str) -> ScopeIndex:
        """The scope's mirror, loaded from Chroma on first use in this process."""
        name = collection_name(user, persona)
        if self.shared:
            self._drop_if_changed(name)
        with self._lock:
            index = self._scopes.get(name)
            if index is not None:
                self._scopes.move_to_end(name)
                return index
            index = ScopeIndex(self.embedder.dimension)
            index.lock.acquire()  # hold it so that readers wait for the load, not the store
            self._scopes[name] = index
            # the least recently used go, but never one a batch is writing to
            idle = [n for n in self._scopes if not self._batches.is_open(n)]
            for gone in idle[: max(0, len(self._scopes) - MAX_SCOPES)]:
                del self._scopes[gone]
        try:
            if self.shared:
                self.revisions.loaded(name)
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
            raise MemoryStoreError(f"could not search memory: {_reason(exc, self.client)}") from exc
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

    def stored(self, user: str, persona: str) -> list[Memory]:
        """What Chroma holds for the scope now, read as a restart reads it (not the mirror)."""
        collection = self._collection(user, persona, create=False)
        if collection is None:
            return []
        turns, facts, _ = read_scope(collection, self.embedder)
        return sorted(turns + facts, key=lambda m: (m.created_at, m.id))

    def export_jsonl(self, user: str, persona: str) -> Iterator[str]:
        """One JSON line per memory, oldest first (no embeddings)."""
        for memory in self.list(user, persona):
            yield json.dumps(memory.to_json(), ensure_ascii=False)

    # -- writing ---------------------------------------------------------------------------

    def remember(
        self, user: str, persona: str, items: Iterable[NewMemory], also: Iterable[str] = ()
    ) -> list[Memory]:
        """Embed and store items (secrets redacted); returns them as stored. Texts in `also`
        are embedded in the same call, so the embedder has them ready (one call is cheaper)."""
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
            texts = [m.text for m in memories]
            vectors = self.embedder.embed(texts + [redact(t) for t in also])[: len(texts)]
            self._write(user, persona, memories, vectors)
        return memories

    def restore(
        self,
        user: str,
        persona: str,
        memories: list[Memory],
        vectors: list[list[float]] | None = None,
    ) -> list[Memory]:
        """Store memories exactly as given (ids, times, history kept), e.g. from an export;
        with their vectors when the caller has them, else embedded."""
        memories = [
            m.evolve(
                user=user,
                persona=persona,
                text=redact(m.text),
                situations=tuple(redact(s) for s in m.situations),
            )
            for m in memories
        ]
        if memories:
            vectors = vectors or self.embedder.embed([m.text for m in memories])
            self._write(user, persona, memories, vectors)
        return memories

    def replace(
        self, user: str, persona: str, memory: Memory, vector: list[float] | None = None
    ) -> Memory:
        """Overwrite a stored memory (same id), with vector or else its text embedded again."""
        memory = memory.evolve(text=redact(memory.text).strip())
        if vector is None:
            vector = self.embedder.embed_one(memory.text)
        self._write(user, persona, [memory], [vector])
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

    def set_situations(
        self,
        user: str,
        persona: str,
        fact_id: str,
        situations: Iterable[str],
        for_text: str | None = None,
    ) -> Memory | None:
        """Set where a fact matters (embedded, for recall); none clears them. With for_text,
        only while the fact still says that (an edit meanwhile wins); else None."""
        old = self.get(user, persona, fact_id)
        if old is None or old.kind != "fact":
            raise MemoryStoreError(f"no fact {fact_id!r} for {user}/{persona}")
        if for_text is not None and old.text != for_text:
            return None
        clean = tuple(dict.fromkeys(redact(" ".join(s.split())) for s in situations if s.strip()))
        new = old.evolve(situations=clean)
        try:
            new.validate()
        except ValueError as exc:
            raise MemoryStoreError(str(exc)) from exc
        return self.replace(user, persona, new)

    def set_private(self, user: str, persona: str, ids: Iterable[str], private: bool) -> int:
        """Mark memories private (kept from models not on this machine) or not; returns count."""
        return self._flag(user, persona, ids, private=private)

    def set_pinned(self, user: str, persona: str, ids: Iterable[str], pinned: bool) -> int:
        """Pin facts (kept ahead of relevance when not all fit the fact budget) or unpin them;
        turns are left as they are. Returns how many facts changed."""
        return self._flag(user, persona, ids, pinned=pinned)

    def annotate(self, user: str, persona: str, memory_id: str, **metadata: Scalar) -> int:
        """Set metadata on a stored memory (its words and vector unchanged); returns 1, or 0
        when it is gone."""
        memory = self.scope(user, persona).records.get(memory_id)
        if memory is None:
            return 0
        return self._flag(user, persona, [memory_id], metadata=memory.metadata | metadata)

    def _flag(self, user: str, persona: str, ids: Iterable[str], **flag: object) -> int:
        scope = self.scope(user, persona)
        collection = self._collection(user, persona, create=False)
        with scope.lock:  # read and written under one lock: a revise meanwhile is not undone
            records = [m for i in ids if (m := scope.records.get(i))]
            if "pinned" in flag:
                records = [m for m in records if m.kind == "fact"]
            changed = [m.evolve(**flag) for m in records]
            if collection is None or not changed:
                return 0
            try:
                collection.update(
                    ids=[m.id for m in changed], metadatas=[m.to_metadata() for m in changed]
                )
            except Exception as exc:
                if not in_log(exc):
                    raise MemoryStoreError(
                        f"could not save to memory: {_reason(exc, self.client)}"
                    ) from exc
            for memory in changed:  # the vector is unchanged: update the mirror in place
                scope.records[memory.id] = memory
        self._changed(user, persona)
        return len(changed)

    def delete(self, user: str, persona: str, ids: Iterable[str]) -> None:
        """Delete the given memories of this scope."""
        ids = list(ids)
        if not ids:
            return
        scope = self.scope(user, persona)
        collection = self._collection(user, persona, create=False)
        queue = self._batches.queue(collection_name(user, persona))
        with scope.lock:
            for i in ids if queue is not None else ():
                queue.pop(i, None)  # a write this batch holds is never made
            try:
                if collection is not None:
                    collection.delete(ids=ids)
            except Exception as exc:
                if not in_log(exc):
                    raise MemoryStoreError(
                        f"could not delete memories: {_reason(exc, self.client)}"
                    ) from exc
            scope.remove(ids)
        self._changed(user, persona)

    def forget_all(self, user: str, persona: str) -> None:
        """Delete every memory of this user x persona."""
        name = collection_name(user, persona)
        if self._collection(user, persona, create=False) is not None:
            try:
                self.client.delete_collection(name)
            except Exception as exc:
                raise MemoryStoreError(
                    f"could not forget memories: {_reason(exc, self.client)}"
                ) from exc
        with self._lock:
            self._scopes.pop(name, None)
            self._collections.pop(name, None)
        self._changed(user, persona)

    def mark(self, user: str, persona: str, name: str, value: float | str | bool) -> None:
        """Remember a fact about the scope itself (e.g. when it was seeded); outlives forget_all."""
        self.marks_book.set(collection_name(user, persona), name, value)

    def marked(self, user: str, persona: str, name: str) -> bool:
        return self.marks_book.get(collection_name(user, persona), name) is not None

    def batch(self, user: str, persona: str, hold: bool = True) -> AbstractContextManager:
        """Several writes as one change (a turn and the facts it states): on a shared server
        one new revision at the end, not one per write; with hold, this thread's writes reach
        Chroma in one write at the end (keep such a batch short: no model call inside). Until
        then the mirror has them (facts, lists, keywords), a dense query does not."""
        return self._batches.hold(
            collection_name(user, persona),
            lambda queued: self._flush(user, persona, queued),
            lambda: self._changed(user, persona),
            hold,
        )

    def _flush(self, user: str, persona: str, queued: Queue) -> None:
        """Write a batch's held memories as the mirror has them now: one another thread
        deleted or rewrote since is left as that thread left it."""
        scope = self.scope(user, persona)
        with scope.lock:
            held = [(scope.records.get(i), m, v) for i, (m, v) in queued.items()]
            now = [(mirror, v) for mirror, m, v in held if mirror and mirror.text == m.text]
            try:
                if now:
                    self._upsert(user, persona, [m for m, _ in now], [v for _, v in now])
            except MemoryStoreError:
                with self._lock:  # the mirror holds what Chroma does not: load it again
                    self._scopes.pop(collection_name(user, persona), None)
                raise

    def _changed(self, user: str, persona: str) -> None:
        """After a change (shared server only): leave a new revision for other processes."""
        name = collection_name(user, persona)
        if self.shared and not self._batches.defer(name):
            self.revisions.changed(name)

    def _drop_if_changed(self, name: str) -> None:
        """Drop this process's mirror when another process has changed the scope (never while
        a batch holds writes the mirror has and Chroma does not yet)."""
        if name in self._scopes and not self._batches.is_open(name) and self.revisions.stale(name):
            with self._lock:
                self._scopes.pop(name, None)
                self._collections.pop(name, None)

    # -- internals -------------------------------------------------------------------------

    def _write(
        self, user: str, persona: str, memories: list[Memory], vectors: list[list[float]]
    ) -> None:
        """To Chroma, then the mirror; in this thread's batch, Chroma waits for the batch's end."""
        scope = self.scope(user, persona)
        queue = self._batches.queue(collection_name(user, persona))
        with scope.lock:
            if queue is None:
                self._upsert(user, persona, memories, vectors)
            else:
                queue.update((m.id, (m, v)) for m, v in zip(memories, vectors, strict=True))
            scope.add(memories, vectors, situation_vectors(self.embedder, memories))
        self._changed(user, persona)

    def _upsert(
        self, user: str, persona: str, memories: list[Memory], vectors: list[list[float]]
    ) -> None:
        upsert(self.client, self._collection(user, persona), memories, vectors)

    def _collection(self, user: str, persona: str, create: bool = True):
        """The scope's collection; None when it does not exist and create is False."""
        name = collection_name(user, persona)
        found = self._collections.get(name)
        if found is None:
            found = open_collection(self.client, user, persona, create)
            if found is not None:
                self._collections[name] = found
        return found

    def _load(self, name: str, index: ScopeIndex) -> None:
        """Fill a new mirror from Chroma: every record, and the vectors of the facts."""
        try:
            collection = self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return
        except Exception as exc:
            raise MemoryStoreError(f"cannot open memories: {_reason(exc, self.client)}") from exc
        self._collections[name] = collection
        try:
            turns, facts, vectors = read_scope(collection, self.embedder)
        except Exception as exc:
            raise MemoryStoreError(f"could not read memory: {_reason(exc, self.client)}") from exc
        index.add(turns, [None] * len(turns))
        index.add(facts, vectors, situation_vectors(self.embedder, facts))
