"""Shared UI pieces: cached engine resources, the sidebar, the current context, reply details."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st

from personalab import (
    EmbeddedBackend,
    Embedder,
    Engine,
    MemoryStore,
    Persona,
    PersonaLabError,
    PersonaLibrary,
    Reply,
    Settings,
    SettingsError,
    backend_from_settings,
    open_client,
)

T = TypeVar("T")
BACKEND_LABELS = {"offline": "Offline (llama.cpp)", "openai": "OpenAI-compatible server"}


# Heavy objects: built once per process, shared by every session (each is thread-safe).
@st.cache_resource(show_spinner="Loading the embedding model…")
def _embedder(name: str) -> Embedder:
    return Embedder(name)


@st.cache_resource(show_spinner=False)
def _chroma(path: str):
    return open_client(path)


@st.cache_resource(show_spinner="Loading the offline model…", max_entries=2)
def _offline_backend(gguf_path: str, n_ctx: int, n_threads: int) -> EmbeddedBackend:
    return EmbeddedBackend(gguf_path, n_ctx=n_ctx, n_threads=n_threads)


def base_settings() -> Settings:
    """Settings from the environment and secrets.toml; a bad value stops the page with why."""
    try:
        return Settings.load()
    except SettingsError as exc:
        st.error(f"PersonaLab cannot start: {exc}", icon=":material/error:")
        st.stop()


def settings() -> Settings:
    """base_settings() overlaid with the sidebar's choices."""
    base = base_settings()
    state = st.session_state
    return base.replace(
        user=(state.get("user") or base.user).strip() or base.user,
        backend=state.get("backend", base.backend),
        gguf_path=state.get("gguf_path", base.gguf_path).strip(),
        openai_base_url=state.get("openai_base_url", base.openai_base_url).strip(),
        openai_model=state.get("openai_model", base.openai_model).strip(),
        openai_api_key=state.get("openai_api_key", base.openai_api_key).strip(),
    )


def library() -> PersonaLibrary:
    return PersonaLibrary(base_settings().personas_dir)


def store(s: Settings) -> MemoryStore:
    return MemoryStore(_chroma(str(s.memory_dir.resolve())), _embedder(s.embedder))


def engine(s: Settings) -> Engine:
    """The engine for the chosen backend; raises PersonaLabError with a fix-it message."""
    if s.backend == "offline":
        backend = _offline_backend(s.gguf_path, s.n_ctx, s.n_threads)
    else:
        backend = backend_from_settings(s)  # cheap to build: nothing to cache
    return Engine(store(s), backend, s)


@dataclass(frozen=True)
class Context:
    """What a page works on: settings, the user, the persona and this browser session's id."""

    settings: Settings
    user: str
    persona: Persona | None
    session: str


def sidebar() -> None:
    """Who is chatting, which persona, which model. Values live in session_state by key."""
    base = base_settings()
    state = st.session_state
    state.setdefault("session_id", uuid.uuid4().hex)
    if "select_persona" in state:  # set by the Personas page after saving a new persona
        state["persona_id"] = state.pop("select_persona")
    with st.sidebar:
        st.text_input("Who is chatting?", value=base.user, key="user", max_chars=64)
        personas, broken = library().load()
        ids = [p.id for p in personas]
        names = {p.id: p.name for p in personas}
        if state.get("persona_id") not in ids:
            state.pop("persona_id", None)
        st.selectbox(
            "Persona",
            ids,
            key="persona_id",
            format_func=lambda i: names.get(i, i),
            placeholder="No personas yet",
        )
        st.page_link("app_pages/personas.py", label="New persona", icon=":material/person_add:")
        for b in broken:
            st.warning(f"Skipped `{b.file_name}`: {b.reason}", icon=":material/warning:")
        st.divider()
        st.radio(
            "Model",
            list(BACKEND_LABELS),
            format_func=BACKEND_LABELS.get,
            key="backend",
            index=list(BACKEND_LABELS).index(base.backend),
        )
        if state["backend"] == "offline":
            st.text_input(
                "GGUF file",
                value=base.gguf_path,
                key="gguf_path",
                placeholder="empty: bundled SmolLM2-135M-Instruct",
                help="Path of any GGUF chat model on this machine.",
            )
        else:
            st.text_input(
                "Base URL",
                value=base.openai_base_url,
                key="openai_base_url",
                placeholder="empty: api.openai.com",
                help="e.g. http://127.0.0.1:11434/v1 (Ollama), :8000/v1 (vLLM, llama.cpp), "
                ":1234/v1 (LM Studio)",
            )
            st.text_input("Model name", value=base.openai_model, key="openai_model")
            st.text_input(
                "API key",
                value=base.openai_api_key,
                key="openai_api_key",
                type="password",
                help="Kept in this browser session only; never written to memory or disk.",
            )


def context() -> Context:
    """The current choices; stops the page with a clear message when no persona exists."""
    s = settings()
    personas, _ = library().load()
    persona = next((p for p in personas if p.id == st.session_state.get("persona_id")), None)
    return Context(s, s.user, persona, st.session_state.setdefault("session_id", uuid.uuid4().hex))


def require_persona(ctx: Context) -> Persona:
    if ctx.persona is None:
        st.info("Pick a persona in the sidebar, or create one on the Personas page.")
        st.page_link(
            "app_pages/personas.py", label="Create a persona", icon=":material/person_add:"
        )
        st.stop()
    return ctx.persona


def attempt(make: Callable[[], T]) -> T | None:
    """make(), or None after showing why it failed (for example, the model cannot load)."""
    try:
        return make()
    except PersonaLabError as exc:
        st.error(f"No reply: {exc}", icon=":material/error:")
        return None


def stream(reply: Reply | None, details: bool = True) -> dict | None:
    """Stream reply into the current container, then its details; None (shown) on failure."""
    if reply is None:
        return None
    try:
        st.write_stream(reply)
    except PersonaLabError as exc:
        st.error(f"No reply: {exc}", icon=":material/error:")
        return None
    if reply.memory_error:
        st.warning(
            f"The reply was not saved to memory: {reply.memory_error}", icon=":material/save:"
        )
    data = reply.to_json()
    if details:
        show_details(data)
    return data


def next_message(page: str, typed: str | None) -> str | None:
    """The message to answer now: what was typed, or the kept one when "Send again" is clicked."""
    if typed:
        st.session_state.pop(f"failed_{page}", None)
        return typed
    if st.session_state.get(f"retry_{page}"):
        return st.session_state.pop(f"failed_{page}", None)
    return None


def keep_failed(page: str, message: str) -> None:
    st.session_state[f"failed_{page}"] = message


def show_failed(page: str) -> None:
    """The message that got no reply, kept for another try."""
    message = st.session_state.get(f"failed_{page}")
    if message:
        with st.container(border=True):
            st.markdown("**Your message is kept**: fix the problem above, then send it again.")
            st.code(message, language=None, wrap_lines=True)
            st.button("Send again", key=f"retry_{page}", icon=":material/replay:")


def reply_caption(data: dict) -> str:
    stats = data.get("stats") or {}
    if not stats:
        return data.get("model", "")
    return (
        f"{data['model']} · first token {stats['first_token_s']:.2f} s · "
        f"{stats['total_s']:.1f} s in all · {stats['chunks_per_s']:.1f} tokens/s"
    )


def show_details(data: dict, label: str = "Memories and profile behind this reply") -> None:
    """An expander with the retrieved memories, the persona fields and the exact prompt."""
    prompt = data["prompt"]
    memories = prompt["memories"]
    count = f"{len(memories)} {'memory' if len(memories) == 1 else 'memories'}"
    with st.expander(f"{label} ({count})", icon=":material/psychology:"):
        st.caption(reply_caption(data))
        tab_mem, tab_profile, tab_prompt = st.tabs(["Memories", "Persona fields", "Prompt"])
        with tab_mem:
            if memories:
                st.dataframe(
                    [
                        {
                            "similarity": m["similarity"],
                            "score": m["score"],
                            "when": m["memory"]["when"][:16].replace("T", " "),
                            "who": m["memory"]["role"],
                            "text": m["memory"]["text"],
                        }
                        for m in memories
                    ],
                    hide_index=True,
                    use_container_width=True,
                )
            else:
                st.write("No stored memory was related enough to this message.")
            if prompt["recent_turns"]:
                st.caption(f"Also sent: the last {prompt['recent_turns']} turns of this chat.")
        with tab_profile:
            fields = prompt["persona_fields"]
            if fields:
                st.markdown("\n".join(f"- **{f['field']}**: {f['value']}" for f in fields))
            else:
                st.write("No persona fields were used.")
        with tab_prompt:
            for m in prompt["messages"]:
                st.markdown(f"**{m['role']}**")
                st.code(m["content"], language=None, wrap_lines=True)
