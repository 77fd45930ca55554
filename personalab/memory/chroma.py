"""Chroma clients: an embedded folder (one writing process) or a server; names; error wording."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from personalab.errors import MemoryStoreError
from personalab.memory import lock as folder_lock
from personalab.text.slug import slugify


def open_client(path: Path, lock: bool = True) -> chromadb.ClientAPI:
    """An embedded Chroma client on `path` (created if needed), held by this process alone."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MemoryStoreError(
            f"cannot create memory directory {path}: {exc.strerror or exc}. "
            "Set PERSONALAB_MEMORY_DIR to a writable folder"
        ) from exc
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        raise MemoryStoreError(
            f"memory directory {path} is on a read-only file system. Make it writable, or "
            "set PERSONALAB_MEMORY_DIR to another folder (what is stored there is unchanged)"
        )
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise MemoryStoreError(
            f"memory directory {path} is not readable and writable by this user. "
            "Fix its permissions or set PERSONALAB_MEMORY_DIR to another folder"
        )
    if lock:
        folder_lock.acquire(path)
    with _set_up_lock:  # once per process, before Chroma holds the file (see _write_ahead_log)
        if (database := (path / "chroma.sqlite3").resolve()) not in _set_up:
            _write_ahead_log(database)
            _set_up.add(database)
    try:
        return chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
    except Exception as exc:  # Chroma raises assorted errors for a damaged or foreign folder
        if any(sign in str(exc) for sign in DAMAGED):
            raise MemoryStoreError(
                f"the memory store's database {path / 'chroma.sqlite3'} is damaged ({exc}). "
                f"Restore a copy of the folder {path} (with its -wal "
                "file), or move the folder aside and read an export back with "
                "`python -m personalab memory import`"
            ) from exc
        raise MemoryStoreError(f"cannot open the memory store in {path}: {exc}") from exc


# What SQLite says of a file that is not (or no longer) a sound database.
DAMAGED = ("malformed", "not a database", "file is encrypted", "database corrupt")


_set_up: set[Path] = set()  # SQLite files this process put in WAL mode (Chroma holds them since)
_set_up_lock = threading.Lock()


def _write_ahead_log(database: Path) -> None:
    """Put Chroma's SQLite file in write-ahead-log mode (kept in the file; Chroma leaves the
    mode alone). A commit then makes one fsync, not four with a journal file made and
    removed: about 2 ms of every write at 10k memories (measured), with the same durability.

    Only before this process's Chroma opens the file: Python's SQLite is a second copy of the
    library in the process, and closing its connection would drop the POSIX locks of Chroma's
    own connections to the same file, which can corrupt it (measured: "database disk image is
    malformed" after a second client on an open folder)."""
    try:
        with closing(sqlite3.connect(database, timeout=1)) as db:
            db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass  # a damaged or foreign file: Chroma's own open says what is wrong with it


def open_server(url: str, token: str = "") -> chromadb.ClientAPI:
    """A client of the Chroma server at url (http://host:port), with a bearer token if given."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise MemoryStoreError(
            f"PERSONALAB_CHROMA_URL must look like http://host:8000, not {url!r}"
        )
    options: dict = {"anonymized_telemetry": False}
    if token:
        options |= {
            "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
            "chroma_client_auth_credentials": token,
        }
    try:
        client = chromadb.HttpClient(
            host=parsed.hostname,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=ChromaSettings(**options),
        )
        client.list_collections(limit=1)  # fails now, with a clear reason, if it will fail
    except Exception as exc:
        raise MemoryStoreError(server_reason(exc, url)) from exc
    return client


def server_reason(exc: Exception, url: str) -> str:
    text = str(exc)
    if "Could not connect" in text or "Connection refused" in text or "ConnectError" in text:
        return f"cannot reach the Chroma server at {url}: is it running? (PERSONALAB_CHROMA_URL)"
    if type(exc).__name__ in ("ChromaAuthError", "AuthorizationError") or "Forbidden" in text:
        return f"the Chroma server at {url} refused the token: check PERSONALAB_CHROMA_TOKEN"
    return f"the Chroma server at {url} failed: {text or type(exc).__name__}"


def collection_name(user: str, persona: str) -> str:
    """A valid Chroma collection name unique to this (user, persona) pair."""
    digest = hashlib.sha256(f"{user}\0{persona}".encode()).hexdigest()[:12]
    return f"pl-{slugify(user)[:40]}-{slugify(persona)[:40]}-{digest}"


MAX_BATCH = 5000  # Chroma accepts at most 5,461 records per add


def upsert(client: object, collection, memories: list, vectors: list[list[float]]) -> None:
    """Memories and their vectors to a collection, in chunks Chroma accepts; MemoryStoreError
    saying why it failed (a write that reached the log counts as done)."""
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
        if not in_log(exc):
            raise MemoryStoreError(f"could not save to memory: {reason(exc, client)}") from exc


def open_collection(client: chromadb.ClientAPI, user: str, persona: str, create: bool = True):
    """The user x persona collection; None when it does not exist and create is False."""
    name = collection_name(user, persona)
    try:
        if create:
            return client.get_or_create_collection(
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"user": user, "persona": persona},
            )
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None
    except Exception as exc:
        raise MemoryStoreError(
            f"cannot open memories of {user}/{persona}: {reason(exc, client)}"
        ) from exc


def reason(exc: Exception, client: object = None) -> str:
    """A plain reason for a failed read or write. Chroma words a full disk or a read-only
    folder in many ways ("database or disk is full", "Error purging logs"), so the folder of
    an embedded client is also looked at."""
    text = str(exc)
    folder = _folder(client)
    if (
        "No space left" in text
        or "disk is full" in text
        or getattr(exc, "errno", None) == 28
        or (folder is not None and _full(folder))
    ):
        return "the disk is full; free some space and try again"
    if (
        "readonly" in text.lower()
        or "read-only" in text.lower()
        or (folder is not None and not os.access(folder, os.W_OK))
    ):
        where = f"memory folder {folder}" if folder else "memory directory"
        return f"the {where} is read-only; make it writable or set PERSONALAB_MEMORY_DIR"
    if type(exc).__name__ in ("ChromaAuthError", "AuthorizationError"):
        return "the Chroma server refused the token; check PERSONALAB_CHROMA_TOKEN"
    if "Could not connect" in text or "Connection refused" in text:
        return "the Chroma server cannot be reached; is it running? (PERSONALAB_CHROMA_URL)"
    return text or type(exc).__name__


def in_log(exc: Exception) -> bool:
    """Chroma wrote the change to its log, then failed to apply the log to its segments (a
    full disk, a read-only folder). The change is durable and applied at its next compaction:
    measured, every such write was there when the folder was opened again. Reporting it as
    failed would invite a retry that stores it twice."""
    return "Error in compaction" in str(exc)


def _folder(client: object) -> Path | None:
    """The folder of an embedded client that still exists (None for a server or a fake)."""
    try:
        settings = client.get_settings()  # type: ignore[union-attr]
        path = settings.persist_directory if settings.is_persistent else ""
    except Exception:
        return None
    return Path(path) if path and Path(path).is_dir() else None


def _full(folder: Path) -> bool:
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize < 64 * 1024
