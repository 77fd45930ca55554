"""Chat page: personalized, streamed replies with the memories and profile behind each one."""

import streamlit as st

from app_pages import common

ctx = common.context()
persona = common.require_persona(ctx)
st.title(persona.name)
st.caption(f"{persona.summary} · chatting as **{ctx.user}**")

threads = st.session_state.setdefault("threads", {})
thread = threads.setdefault(f"{ctx.user}\0{persona.id}", [])

for entry in thread:
    with st.chat_message(entry["role"]):
        if entry["role"] == "user":
            st.markdown(entry["content"])
        else:
            st.markdown(entry["data"]["text"])
            common.show_details(entry["data"])

typed = st.chat_input(f"Message (as {ctx.user})", key="chat_message", max_chars=4000)
message = common.next_message("chat", typed)
if message:
    with st.chat_message("user"):
        st.markdown(message)
    with st.chat_message("assistant"):
        engine = common.attempt(lambda: common.engine(ctx.settings))
        reply = engine and common.attempt(
            lambda: engine.reply(ctx.user, persona, message, ctx.session)
        )
        data = common.stream(reply)
    if data is None:
        common.keep_failed("chat", message)
    else:
        thread += [{"role": "user", "content": message}, {"role": "assistant", "data": data}]
common.show_failed("chat")
