"""Compare page: one message answered generic vs personalized, side by side, with what changed."""

import streamlit as st

from app_pages import common
from personalab import ColumnKind

KINDS = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
TITLES = {
    ColumnKind.GENERIC: "Generic: same model, no persona, no memory",
    ColumnKind.PERSONALIZED: "Personalized: persona + memories + recent turns",
}

ctx = common.context()
persona = common.require_persona(ctx)
st.title("Generic vs personalized")
st.caption(f"{persona.name}: {persona.summary} · asking as **{ctx.user}**")

rounds = st.session_state.setdefault("compare_rounds", {})
history = rounds.setdefault(f"{ctx.user}\0{persona.id}", [])


def column(kind: ColumnKind, source: dict | common.Reply) -> dict | None:
    """One column: its heading, then a past answer or a live stream; the details or timings."""
    st.markdown(f"**{TITLES[kind]}**")
    details = kind is not ColumnKind.GENERIC
    if isinstance(source, dict):
        st.markdown(source["text"])
        if details:
            common.show_details(source)
        data = source
    else:
        data = common.stream(source, details=details)
    if data and not details:
        st.caption(common.reply_caption(data))
    return data


for past in history:
    with st.chat_message("user"):
        st.markdown(past["message"])
    for box, kind in zip(st.columns(len(KINDS), border=True), KINDS, strict=True):
        with box:
            column(kind, past["results"][kind.value])

typed = st.chat_input("One message, two answers", key="compare_message", max_chars=4000)
message = common.next_message("compare", typed)
if message:
    with st.chat_message("user"):
        st.markdown(message)
    engine = common.attempt(lambda: common.engine(ctx.settings))
    replies = engine and common.attempt(
        lambda: engine.compare(ctx.user, persona, message, ctx.session, KINDS)
    )
    results = {}
    boxes = st.columns(len(KINDS), border=True) if replies else []
    for box, reply in zip(boxes, replies or [], strict=True):
        with box:
            data = column(reply.plan.kind, reply)
        if data is None:
            break
        results[reply.plan.kind.value] = data
    if len(results) == len(KINDS):
        history.append({"message": message, "results": results})
    else:
        common.keep_failed("compare", message)
common.show_failed("compare")
