"""Chat page: personalized, streamed replies with the memories and profile behind each one."""

import streamlit as st

from app_pages.ui import details, replies, resources, sidebar
from personalab.stage.record import ReplyRecord
from personalab.text.safe import safe_markdown

ctx = sidebar.context()
persona = sidebar.require_persona(ctx)
replies.warm_up(ctx.settings, ctx.user, persona, ctx.session)
st.title(details.plain(persona.name))
st.caption(f"{details.plain(persona.summary)} · chatting as **{details.plain(ctx.user)}**")

threads = st.session_state.setdefault("threads", {})
thread = threads.setdefault(f"{ctx.user}\0{persona.id}", [])
private = st.toggle(
    "Don't remember this conversation",
    key=f"no_memory_{ctx.session}",
    help="Replies still use what is already remembered; nothing new is stored.",
)
typed = st.chat_input(f"Message (as {ctx.user})", key="chat_message")
message = replies.next_message("chat", typed)
if message:  # on the page at once: a message sent while a reply streams queues behind it
    thread.append({"role": "user", "content": message, "waiting": True})


def answer(entry: dict) -> dict | None:
    """Stream the reply to a waiting message; its data, or None (shown, message kept)."""
    with st.chat_message("assistant"):
        engine = replies.attempt(lambda: resources.engine(ctx.settings))
        reply = engine and replies.attempt(
            lambda: engine.reply(
                ctx.user, persona, entry["content"], ctx.session, remember=not private
            )
        )
        return replies.stream(reply)


for entry in list(thread):
    if entry["role"] == "assistant":
        with st.chat_message("assistant"):
            st.markdown(safe_markdown(ReplyRecord.of(entry["data"]).text))
            details.show_details(entry["data"])
        continue
    with st.chat_message("user"):
        details.said(entry["content"])
    if entry.get("waiting"):
        data = answer(entry)
        entry.pop("waiting")
        if data is None:
            thread.remove(entry)  # kept below, with Send again
            replies.keep_failed("chat", entry["content"])
        else:
            thread.insert(thread.index(entry) + 1, {"role": "assistant", "data": data})
replies.show_failed("chat")
