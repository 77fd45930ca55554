"""Compare page: one message answered generic vs personalized, side by side, with what changed."""

import streamlit as st

from app_pages.ui import details, replies, resources, sidebar
from personalab import ColumnKind, Reply

KINDS = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
TITLES = {
    ColumnKind.GENERIC: "Generic: same model, no persona, no memory",
    ColumnKind.PERSONALIZED: "Personalized: persona + memories + recent turns",
}

ctx = sidebar.context()
persona = sidebar.require_persona(ctx)
st.title("Generic vs personalized")
st.caption(f"{persona.name}: {persona.summary} · asking as **{ctx.user}**")

rounds = st.session_state.setdefault("compare_rounds", {})
history = rounds.setdefault(f"{ctx.user}\0{persona.id}", [])


def column(kind: ColumnKind, source: dict | Reply) -> dict | None:
    """One column: its heading, then a past answer or a live stream; the details or timings."""
    st.markdown(f"**{TITLES[kind]}**")
    show = kind is not ColumnKind.GENERIC
    if isinstance(source, dict):
        st.markdown(source["text"])
        if show:
            details.show_details(source)
        data = source
    else:
        data = replies.stream(source, details=show)
    if data and not show:
        st.caption(details.reply_caption(data))
    return data


for past in history:
    with st.chat_message("user"):
        st.markdown(past["message"])
    for box, kind in zip(st.columns(len(KINDS), border=True), KINDS, strict=True):
        with box:
            column(kind, past["results"][kind.value])

typed = st.chat_input("One message, two answers", key="compare_message", max_chars=4000)
message = replies.next_message("compare", typed)
if message:
    with st.chat_message("user"):
        st.markdown(message)
    engine = replies.attempt(lambda: resources.engine(ctx.settings))
    answers = engine and replies.attempt(
        lambda: engine.compare(ctx.user, persona, message, ctx.session, KINDS)
    )
    results = {}
    boxes = st.columns(len(KINDS), border=True) if answers else []
    for box, reply in zip(boxes, answers or [], strict=True):
        with box:
            data = column(reply.plan.kind, reply)
        if data is None:
            break
        results[reply.plan.kind.value] = data
    if len(results) == len(KINDS):
        history.append({"message": message, "results": results})
    else:
        replies.keep_failed("compare", message)
replies.show_failed("compare")
