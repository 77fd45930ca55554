"""The shared sidebar (user, persona, model) and the context every page works in."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import streamlit as st

from app_pages.ui.details import plain
from app_pages.ui.resources import base_settings, discovery, memory_engine, settings
from app_pages.ui.resources import personas as library_personas
from personalab import MemoryStoreError, Persona, Settings
from personalab.models import packs
from personalab.models.discovery import FoundModel
from personalab.seeding import ensure_seeded

BACKEND_LABELS = {"offline": "Offline (llama.cpp)", "openai": "OpenAI-compatible server"}


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
        who(base)
        personas, broken = library_personas()
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
            st.warning(
                f"Skipped {plain(b.file_name)}: {plain(b.reason)}", icon=":material/warning:"
            )
        st.divider()
        local_models(base)
        st.radio(
            "Model",
            list(BACKEND_LABELS),
            format_func=BACKEND_LABELS.get,
            key="backend",
            index=list(BACKEND_LABELS).index(base.backend),
        )
        if state["backend"] == "offline":
            model_packs(base)
            st.text_input(
                "GGUF file",
                value=base.gguf_path,
                key="gguf_path",
                placeholder="empty: the model pack above",
                help="Path of any GGUF chat model on this machine (instead of a pack).",
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
    personas, _ = library_personas()
    persona = next((p for p in personas if p.id == st.session_state.get("persona_id")), None)
    return Context(s, s.user, persona, st.session_state.setdefault("session_id", uuid.uuid4().hex))


def require_persona(ctx: Context) -> Persona:
    """The chosen persona (its seed history loaded on first use), or a stop with how to pick."""
    if ctx.persona is None:
        st.info("Pick a persona in the sidebar, or create one on the Personas page.")
        st.page_link(
            "app_pages/personas.py", label="Create a persona", icon=":material/person_add:"
        )
        st.stop()
    seeded = st.session_state.setdefault("seeded_scopes", set())
    key = f"{ctx.user}\0{ctx.persona.id}"
    if ctx.settings.seed_personas and key not in seeded:
        try:
            with st.spinner(f"Loading what {plain(ctx.persona.name)} said before…"):
                ensure_seeded(memory_engine(ctx.settings), ctx.user, ctx.persona)
            seeded.add(key)
        except MemoryStoreError as exc:  # the page still works; the memory error shows there
            st.warning(f"The persona's earlier history was not loaded: {plain(str(exc))}")
    return ctx.persona


SHARED_DEFAULT = "local"  # the setting's default: a deployment that named no user


def who(base: Settings) -> None:
    """Whose memories this session uses: the signed-in user when Streamlit authentication is
    set up; else the user the deployment names; else a private id for this browser session,
    kept in the page's link so that the link (or the code) brings the same memories back."""
    state = st.session_state
    if st.user.get("is_logged_in"):
        state["user"] = str(st.user.get("email") or st.user.get("name") or st.user.get("sub"))
        st.caption(f":material/verified_user: Signed in as **{state['user']}**")
        return
    if "user" not in state:
        from_link = str(st.query_params.get("u", "")).strip()[:64]
        named = base.user if base.user != SHARED_DEFAULT else ""
        state["user"] = from_link or named or f"guest-{secrets.token_hex(5)}"
    st.text_input(
        "Who is chatting?",
        key="user",
        max_chars=64,
        help="Memories belong to this name. Change it to resume another one (e.g. your code).",
    )
    if state["user"].strip():
        st.query_params["u"] = state["user"].strip()
    if state["user"].startswith("guest-"):
        st.caption(
            ":material/key: A private id for this browser: keep this page's link (or the "
            "code) to come back to these memories; anyone with it can see them."
        )


def model_packs(base: Settings) -> None:
    """The offline model packs installed here, each with its size, license, source and hash;
    the others with the command that installs them."""
    state = st.session_state
    present = [pack.name for pack, _ in packs.installed()]
    options = present if base.model in present else [base.model, *present]
    if state.get("model") not in options:
        state["model"] = base.model
    st.selectbox(
        "Offline model",
        options,
        key="model",
        format_func=lambda name: f"{packs.PACKS[name].title}" if name in packs.PACKS else name,
        help="Packs are checked by SHA-256 before they load. Switching keeps the chat.",
    )
    pack = packs.PACKS.get(state["model"])
    if pack is not None:
        st.caption(
            f"{pack.parameters} parameters · {pack.size_label} · {pack.license} · from "
            f"{pack.source} · sha256 `{pack.sha256[:16]}…`"
        )
    missing = [p.name for p in packs.PACKS.values() if p.name not in present]
    if missing:
        st.caption(
            f"Not installed: {', '.join(missing)}. `make models` (or `python -m personalab "
            "models install NAME`) adds them."
        )


def _use(model: FoundModel) -> None:
    """Point the model settings at a found model (a button callback, before widgets exist)."""
    state = st.session_state
    if model.kind == "server":
        state.update(backend="openai", openai_base_url=model.location, openai_model=model.name)
    else:
        state.update(backend="offline", gguf_path=model.location)


def local_models(base: Settings) -> None:
    """The models this machine already has, one click from being used."""
    scan = discovery(base.models_dir)
    found = scan.results()
    if found is None:
        st.caption(":material/search: Looking for models on this machine…")
        return
    if not found:
        st.caption(
            "No other model found here (Ollama, LM Studio, llama.cpp or vLLM servers; GGUF "
            "files in the Hugging Face cache, LM Studio, ~/models or PERSONALAB_MODELS_DIR)."
        )
    else:
        labels = {m.label: m for m in found}
        choice = st.selectbox(
            "Models on this machine",
            list(labels),
            key="found_model",
            help="Found by a scan of local servers and model folders; nothing leaves this machine.",
        )
        st.button(
            "Use this model",
            icon=":material/bolt:",
            on_click=_use,
            args=(labels[choice],),
            disabled=choice is None,
        )
    st.button("Look again", icon=":material/refresh:", on_click=scan.start, key="rescan")
