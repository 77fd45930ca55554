"""Chat page: personalized, streamed replies with the memories and profile behind each one."""

import streamlit as st

from app_pages.ui import details, replies, resources, sidebar
from personalab.stage.record import ReplyRecord
from personalab.text.safe import safe_markdown

ctx = sidebar.context()
persona = sidebar.require_persona(ctx)
st.title(details.plain(persona.name))
st.caption(f"{details.plain(persona.summary)} · chatting as **{details.plain(ctx.user)}**")

threads = st.session_state.setdefault("threads", {})
thread = threads.setdefault(f"{ctx.user}\0{persona.id}", [])

for entry in thread:
    with st.chat_message(entry["role"]):
        if entry["role"] == "user":
            st.markdown(details.plain(entry["content"]))
        else:
            st.markdown(safe_markdown(ReplyRecord.of(entry["data"]).text))
            details.show_details(entry["data"])

private = st.toggle(
    "Don't remember this conversation",
    key=f"no_memory_{ctx.session}",
    help="Replies still use what is already remembered; nothing new is stored.",
)
typed = st.chat_input(f"Message (as {ctx.user})", key="chat_message", max_chars=4000)
message = replies.next_message("chat", typed)
if message:
    with st.chat_message("user"):
        st.markdown(details.plain(message))
    with st.chat_message("assistant"):
        engine = replies.attempt(lambda: resources.engine(ctx.settings))
        reply = engine and replies.attempt(
            lambda: engine.reply(ctx.user, persona, message, ctx.session, remember=not private)
        )
        data = replies.stream(reply)
    if data is None:
        replies.keep_failed("chat", message)
    else:
        thread += [{"role": "user", "content": message}, {"role": "assistant", "data": data}]
replies.show_failed("chat")
