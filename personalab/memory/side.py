"""A side collection: small records (marks, votes) in a Chroma collection of their own."""

from __future__ import annotations

from personalab.errors import MemoryStoreError
from personalab.memory.chroma import reason


class SideCollection:
    """A named collection beside the memories, opened on first use; Chroma's failures come
    out as MemoryStoreError saying what could not be done ("save the vote")."""

    def __init__(self, client, name: str, what: str):
        self.client = client
        self.name = name
        self.what = what  # "the votes": named in error messages
        self._collection = None

    def _open(self):
        if self._collection is None:
            try:
                self._collection = self.client.get_or_create_collection(
                    self.name, embedding_function=None
                )
            except Exception as exc:
                raise MemoryStoreError(
                    f"cannot open {self.what}: {reason(exc, self.client)}"
                ) from exc
        return self._collection

    def put(self, record_id: str, metadata: dict, document: str, replace: bool = True) -> None:
        """Write one record (its vector is a placeholder: side records are never searched)."""
        collection = self._open()
        write = collection.upsert if replace else collection.add
        try:
            write(ids=[record_id], embeddings=[[0.0]], metadatas=[metadata], documents=[document])
        except Exception as exc:
            raise MemoryStoreError(
                f"could not save {self.what}: {reason(exc, self.client)}"
            ) from exc

    def metadatas(self, ids: list[str] | None = None) -> list[dict]:
        """The records' metadata: those with ids, or all."""
        try:
            found = self._open().get(ids=ids, include=["metadatas"])
        except Exception as exc:
            raise MemoryStoreError(
                f"could not read {self.what}: {reason(exc, self.client)}"
            ) from exc
        return list(found["metadatas"])
