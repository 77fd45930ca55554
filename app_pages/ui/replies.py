"""Streaming a reply into the page, and keeping a message that got no reply for another try."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import streamlit as st

from app_pages.ui import resources
from app_pages.ui.details import plain, show_details
from personalab import Persona, PersonaLabError, Reply, Settings
from personalab.models import turns
from personalab.text.safe import safe_markdown

T = TypeVar("T")
FACTS_WAIT_S = 20.0  # after the reply has streamed, how long to show "updating facts"
JUDGE_WAIT_S = 90.0  # and how long to show "the judge is rating" (an offline judge takes ~10 s)


def attempt(make: Callable[[], T]) -> T | None:
    """make(), or None after showing why it failed (for example, the model cannot load)."""
    try:
        return make()
    except PersonaLabError as exc:
        st.error(f"No reply: {plain(str(exc))}", icon=":material/error:")
        return None


def warm_up(settings: Settings, user: str, persona: Persona, session: str) -> None:
    """Once per session and persona: the local model evaluates the start of the persona's
    prompt in the background while the person reads and types (a model that fails to load
    says so when a message is sent)."""
    warmed = st.session_state.setdefault("warmed_scopes", set())
    key = f"{user}\0{persona.id}\0{session}"
    if key not in warmed:
        warmed.add(key)
        with contextlib.suppress(PersonaLabError):
            resources.engine(settings).warm_up(user, persona, session)


def stream(reply: Reply | None, details: bool = True) -> dict | None:
    """Stream reply into the current container, then its details; None (shown) on failure."""
    if reply is None:
        return None
    shown, text = st.empty(), ""
    try:
        with turns.listening(lambda place: in_line(shown, place)):
            for chunk in reply:  # untrusted text: made safe before it is ever rendered
                text += chunk
                shown.markdown(safe_markdown(text) + " ▌")
    except PersonaLabError as exc:
        shown.empty()
        st.error(f"No reply: {plain(str(exc))}", icon=":material/error:")
        return None
    shown.markdown(safe_markdown(reply.text))  # the guard's last attempt replaces its tries
    if reply.memory_error:
        st.warning(
            f"The reply was not saved to memory: {reply.memory_error}", icon=":material/save:"
        )
    if reply.saved is not None and reply.saved.pending is not None:
        with st.spinner("Updating what PersonaLab knows about you…"):
            reply.saved.wait(FACTS_WAIT_S)  # the reply is on screen already
    await_judge([reply])
    data = reply.to_json()
    if details:
        show_details(data)
    return data


def in_line(where, place: turns.Place | None) -> None:
    """Where this request stands in line for the model (other sessions hold it), or nothing
    once its turn has come."""
    if place is None:
        where.empty()
    else:
        where.info(f"Waiting for the model: {place.describe()}.", icon=":material/hourglass_top:")


def await_judge(replies: list[Reply]) -> None:
    """Wait, with a notice, for the judge that rates replies already on screen."""
    if any(r.judging is not None and not r.judging.done() for r in replies):
        with st.spinner(f"The judge ({replies[0].judge.backend.name}) is rating the reply…"):
            for reply in replies:
                reply.wait_judge(JUDGE_WAIT_S)


def next_message(page: str, typed: str | None) -> str | None:
    """The message to answer now: what was typed, or the kept one when "Send again" is clicked."""
    if typed is not None and not typed.strip():
        st.warning("An empty message has nothing to answer: type something first.")
        return None
    if typed:
        st.session_state.pop(f"failed_{page}", None)
        return typed
    if st.session_state.get(f"retry_{page}"):
        return st.session_state.pop(f"failed_{page}", None)
    return None


def queued(page: str, key: str, message: str | None) -> Iterator[str]:
    """The messages waiting on this page, oldest first, then the new one. A message sent while
    a reply streams stops this run and starts another: the one it cut short is still waiting
    and is answered first, so neither is lost."""
    queue = st.session_state.setdefault(f"queue_{page}", {}).setdefault(key, [])
    if message:
        queue.append(message)
    while queue:
        yield queue[0]
        queue.pop(0)  # reached only once its round has been answered (or kept, if it failed)


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
