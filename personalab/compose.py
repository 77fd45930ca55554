"""The composition point: the embedder, store, models, judge and engine that settings name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the heavy modules load only when something is built
    from personalab.embedding.embedder import Embedder
    from personalab.engine import Engine
    from personalab.memory.store import MemoryStore
    from personalab.models.backends import ChatBackend
    from personalab.personas.library import PersonaLibrary
    from personalab.replies.judge import Judge
    from personalab.settings import Settings


def library_from_settings(settings: Settings) -> PersonaLibrary:
    """The persona library in the folder settings name."""
    from personalab.personas.library import PersonaLibrary

    return PersonaLibrary(settings.personas_dir)


def embedder_from_settings(settings: Settings) -> Embedder:
    """The sentence embedder settings name (the bundled MiniLM by default)."""
    from personalab.embedding.embedder import Embedder

    return Embedder(settings.embedder)


def store_from_settings(settings: Settings, embedder: Embedder) -> MemoryStore:
    """The store settings name: a Chroma server when PERSONALAB_CHROMA_URL is set, else the
    memory folder (held by this process alone)."""
    from personalab.memory.chroma import open_server
    from personalab.memory.store import MemoryStore, open_client

    if settings.chroma_url:
        client = open_server(settings.chroma_url, settings.chroma_token)
        return MemoryStore(client, embedder, shared=True)
    return MemoryStore(open_client(settings.memory_dir), embedder)


def backend_from_settings(settings: Settings) -> ChatBackend:
    """The chat model settings.backend names, built from the other settings."""
    from personalab.models.backends import EmbeddedBackend
    from personalab.models.remote import OpenAIBackend

    if settings.backend == "openai":
        return OpenAIBackend(
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            context_window=settings.n_ctx,
            slots=settings.server_slots,
        )
    if settings.gguf_path:
        return EmbeddedBackend(
            settings.gguf_path, n_ctx=settings.n_ctx, n_threads=settings.n_threads,
            prefix_cache_mb=settings.prefix_cache_mb,
        )  # fmt: skip
    return pack_backend(settings.model, settings)


def pack_backend(name: str, settings: Settings, n_ctx: int = 0) -> ChatBackend:
    """An offline pack run in process (verified by size and SHA-256, or refused)."""
    from personalab.models import packs
    from personalab.models.backends import EmbeddedBackend

    pack = packs.find(name)
    return EmbeddedBackend(
        packs.locate(pack, packs.packs_dir()),
        name=f"{pack.title} (offline)",
        n_ctx=n_ctx or settings.n_ctx,
        n_threads=settings.n_threads,
        prefix_cache_mb=settings.prefix_cache_mb,
        bundled=True,
        writes_situations=not pack.bundled_module,  # any pack but the 135M one
    )


JUDGE_CTX = 4096  # facts, a question and two replies fit


def judge_from_settings(settings: Settings, build: Callable = pack_backend) -> Judge | None:
    """The LLM judge PERSONALAB_JUDGE_MODEL names, or None: an offline pack's name
    ("qwen2.5-coder-1.5b") runs it on this machine (built by build), any other name on its
    own server."""
    if not settings.judge_model:
        return None
    from personalab.models import packs
    from personalab.models.remote import OpenAIBackend
    from personalab.replies.judge import Judge

    if settings.judge_model in packs.PACKS and not settings.judge_base_url:
        return Judge(build(settings.judge_model, settings, JUDGE_CTX))
    backend = OpenAIBackend(
        model=settings.judge_model,
        api_key=settings.judge_api_key or settings.openai_api_key,
        base_url=settings.judge_base_url or settings.openai_base_url,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
    )
    return Judge(backend)


def engine_from_settings(
    settings: Settings,
    store: MemoryStore,
    backend: ChatBackend | None,
    build: Callable = pack_backend,
) -> Engine:
    """The engine over a store and a chat model (None: recall and memory only), with the
    judge and the fact model settings name (offline packs built by build)."""
    from personalab.engine import Engine

    judge = judge_from_settings(settings, build) if backend is not None else None
    facts = build(settings.fact_model, settings) if settings.fact_model else None
    return Engine(store, backend, settings, judge=judge, fact_backend=facts)
