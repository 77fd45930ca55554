"""Memory page: the facts and turns kept for this user and persona; find, edit, import, forget."""

import streamlit as st

from app_pages.ui import memory_view, resources, sidebar
from app_pages.ui.details import plain
from personalab import MemoryStoreError

ctx = sidebar.context()
persona = sidebar.require_persona(ctx)
st.title("Memory")
where = plain(ctx.settings.chroma_url or f"{ctx.settings.memory_dir} on this machine")
st.caption(
    f"What is remembered for **{plain(ctx.user)}** with **{plain(persona.name)}**, kept per "
    "user and persona "
    f"in {where}. Private memories are never sent to a model that is not on this machine."
)

try:
    store = resources.store(ctx.settings)
    memories = store.list(ctx.user, persona.id)
except MemoryStoreError as exc:
    st.error(plain(str(exc)), icon=":material/error:")
    st.stop()

facts = [m for m in memories if m.kind == "fact"]
counts = st.columns(4)
counts[0].metric("Facts about the user", len(facts))
counts[1].metric("Conversation turns", len(memories) - len(facts))
counts[2].metric("Private", sum(m.private for m in memories))
counts[3].metric("Pinned facts", sum(m.pinned for m in facts))

browse, test, move, danger = st.tabs(
    ["Browse and edit", "Test recall", "Export / import", "Forget"]
)
with browse:
    if memories:
        shown = memory_view.filtered(memories)
        memory_view.table(shown)
        memory_view.actions(store, ctx.user, persona.id, shown)
        memory_view.fact_history(facts)
    else:
        st.info(
            "Nothing is stored yet: chat on the Chat or Compare page and every exchange lands here."
        )
with test:
    memory_view.recall_tester(resources.memory_engine(ctx.settings), ctx.user, persona)
with move:
    memory_view.export_import(store, ctx.user, persona.id)
with danger:
    memory_view.forget(
        store, resources.memory_engine(ctx.settings), ctx.user, persona, len(memories)
    )
