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
st.title("⚖️ Generic vs personalized")
st.caption(f"{persona.name}: {persona.summary} · asking as **{ctx.user}**")

rounds = st.session_state.setdefault("compare_rounds", {})
history = rounds.setdefault(f"{ctx.user}\0{persona.id}", [])


def show_columns(results: dict[str, dict]) -> None:
    for column, kind in zip(st.columns(len(KINDS), border=True), KINDS, strict=True):
        with column:
            st.markdown(f"**{TITLES[kind]}**")
            data = results.get(kind.value)
            if data:
                st.markdown(data["text"])
                if kind is ColumnKind.GENERIC:
                    st.caption(common.reply_caption(data))
                else:
                    common.show_details(data)


for past in history:
    with st.chat_message("user"):
        st.markdown(past["message"])
    show_columns(past["results"])

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
    if replies:
        for column, reply in zip(st.columns(len(KINDS), border=True), replies, strict=True):
            with column:
                kind = reply.plan.kind
                st.markdown(f"**{TITLES[kind]}**")
                data = common.stream(reply, details=kind is not ColumnKind.GENERIC)
                if data is None:
                    break
                if kind is ColumnKind.GENERIC:
                    st.caption(common.reply_caption(data))
                results[kind.value] = data
    if len(results) == len(KINDS):
        history.append({"message": message, "results": results})
    else:
        common.keep_failed("compare", message)
common.show_failed("compare")
