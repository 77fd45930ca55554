"""Heavy objects built once per process (embedder, Chroma, local model) and the engine."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from app_pages.ui.details import plain
from personalab import (
    ChatBackend,
    Embedder,
    Engine,
    MemoryStore,
    Persona,
    PersonaLibrary,
    Settings,
    SettingsError,
    compose,
)
from personalab.models.discovery import Discovery, gguf_folders
from personalab.personas.cards import export
from personalab.personas.library import BrokenPersonaFile


# Heavy objects: built once per process, shared by every session (each is thread-safe).
@st.cache_resource(show_spinner="Loading the embedding model…")
def _embedder(name: str) -> Embedder:
    return Embedder(name)


@st.cache_resource(show_spinner=False)
def _store(path: str, embedder_name: str, chroma_url: str, token: str) -> MemoryStore:
    """One store per folder or server, shared by all sessions (with its in-process mirrors)."""
    where = base_settings().replace(
        memory_dir=Path(path), embedder=embedder_name, chroma_url=chroma_url, chroma_token=token
    )
    return compose.store_from_settings(where, _embedder(embedder_name))


@st.cache_resource(show_spinner="Loading the offline model…", max_entries=2)
def _offline_backend(model: str, gguf_path: str, n_ctx: int, n_threads: int) -> ChatBackend:
    """One in-process model per pack or file, shared by every session (it guards itself)."""
    chosen = base_settings().replace(
        backend="offline", model=model, gguf_path=gguf_path, n_ctx=n_ctx, n_threads=n_threads
    )
    return compose.backend_from_settings(chosen)


@st.cache_resource(show_spinner=False)
def discovery(models_dir: str) -> Discovery:
    """One background scan per process for local servers and GGUF files (never blocks)."""
    found = Discovery(folders=gguf_folders(models_dir))
    found.start()
    return found


def base_settings() -> Settings:
    """Settings from the environment and secrets.toml; a bad value stops the page with why."""
    try:
        return Settings.load()
    except SettingsError as exc:
        st.error(f"PersonaLab cannot start: {plain(str(exc))}", icon=":material/error:")
        st.stop()


def settings() -> Settings:
    """base_settings() overlaid with the sidebar's choices."""
    base = base_settings()
    state = st.session_state
    return base.replace(
        user=(state.get("user") or "").strip() or f"guest-{state.get('session_id', '')[:10]}",
        backend=state.get("backend", base.backend),
        model=state.get("model", base.model),
        gguf_path=state.get("gguf_path", base.gguf_path).strip(),
        openai_base_url=state.get("openai_base_url", base.openai_base_url).strip(),
        openai_model=state.get("openai_model", base.openai_model).strip(),
        openai_api_key=state.get("openai_api_key", base.openai_api_key).strip(),
    )


def library() -> PersonaLibrary:
    return PersonaLibrary(base_settings().personas_dir)


def personas() -> tuple[list[Persona], list[BrokenPersonaFile]]:
    """The library's personas and broken files; parsed again only when a file changed, not
    on each of the several reads of every rerun."""
    directory = base_settings().personas_dir
    return _personas(str(directory), _stamp(directory))


@st.cache_data(max_entries=4, show_spinner=False)
def _personas(directory: str, stamp: tuple) -> tuple[list[Persona], list[BrokenPersonaFile]]:
    return PersonaLibrary(Path(directory)).load()


def _stamp(directory: Path) -> tuple:
    """Each persona file's name, size and change time: what says the folder changed."""
    try:
        stats = {p.name: p.stat() for p in directory.glob("*.y*ml")}
        return tuple(sorted((name, s.st_size, s.st_mtime_ns) for name, s in stats.items()))
    except OSError:  # a file went while we looked: read again next time
        return (time.time(),)


def exported(persona: Persona, fmt: str, avatar: bytes | None) -> bytes:
    """The persona in an export format; made again only when the persona or avatar changed
    (a card PNG takes an image encode, and the Export tab shows four every rerun)."""
    return _exported(persona.id, persona.model_dump_json(), fmt, avatar, persona)


@st.cache_data(max_entries=64, show_spinner=False)
def _exported(
    persona_id: str, as_json: str, fmt: str, avatar: bytes | None, _persona: Persona
) -> bytes:
    return export(_persona, fmt, avatar)


def embedder(s: Settings) -> Embedder:
    return _embedder(s.embedder)


def store(s: Settings) -> MemoryStore:
    """The store for the memory folder (or server) and embedder the settings name."""
    return _store(str(s.memory_dir.resolve()), s.embedder, s.chroma_url, s.chroma_token)


def engine(s: Settings) -> Engine:
    """The engine for the chosen backend; raises PersonaLabError with a fix-it message."""
    if s.backend == "offline":
        backend = _offline_backend(s.model, s.gguf_path, s.n_ctx, s.n_threads)
    else:
        backend = compose.backend_from_settings(s)  # cheap to build: nothing to cache
    return compose.engine_from_settings(s, store(s), backend, _pack)


def _pack(name: str, s: Settings, n_ctx: int = 0) -> ChatBackend:
    """An offline pack for the judge or the facts, loaded once per process like the model."""
    return _offline_backend(name, "", n_ctx or s.n_ctx, s.n_threads)


def memory_engine(s: Settings) -> Engine:
    """An engine over the store with no chat model: recall, facts and memory work only."""
    return compose.engine_from_settings(s, store(s), None)
