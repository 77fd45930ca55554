"""Memory page: see, search, export and delete what is remembered for this user and persona."""

import streamlit as st

from app_pages import common
from personalab import MemoryStoreError
from personalab.personas import slugify
from personalab.retrieval import RankingPolicy, rank

ctx = common.context()
persona = common.require_persona(ctx)
st.title("Memory")
st.caption(
    f"What is remembered for **{ctx.user}** with **{persona.name}**. "
    "Memories are kept per user and persona, on this machine only."
)

try:
    store = common.store(ctx.settings)
    memories = store.list(ctx.user, persona.id)
except MemoryStoreError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.metric("Stored memories", len(memories))
if not memories:
    st.info(
        "Nothing is stored yet: chat on the Chat or Compare page and every exchange lands here."
    )
    st.stop()

query = st.text_input("Test retrieval", placeholder="a message, to see which memories it recalls")
if query:
    hits = store.search(ctx.user, persona.id, query, k=ctx.settings.memory_k * 2)
    ranked = rank(hits, RankingPolicy(min_similarity=ctx.settings.min_similarity))
    st.dataframe(
        [
            {
                "score": h.score,
                "similarity": h.similarity,
                "who": h.memory.role,
                "text": h.memory.text,
            }
            for h in ranked
        ],
        hide_index=True,
        use_container_width=True,
    )
    if not ranked:
        st.write("No memory is similar enough to be used for this message.")

st.dataframe(
    [
        {"when": m.when.strftime("%Y-%m-%d %H:%M"), "who": m.role, "text": m.text, "id": m.id}
        for m in reversed(memories)
    ],
    hide_index=True,
    use_container_width=True,
)
texts = {m.id: f"{m.role}: {m.text[:80]}" for m in reversed(memories)}
chosen = st.multiselect("Select memories to delete", list(texts), format_func=texts.get)
left, middle, right = st.columns(3)
if left.button(f"Delete selected ({len(chosen)})", disabled=not chosen, icon=":material/delete:"):
    store.delete(ctx.user, persona.id, chosen)
    st.rerun()
right.download_button(
    "Export JSONL",
    data="\n".join(store.export_jsonl(ctx.user, persona.id)) + "\n",
    file_name=f"personalab-{slugify(ctx.user)}-{persona.id}-memories.jsonl",
    mime="application/jsonl",
    icon=":material/download:",
)
with middle.popover("Forget all", icon=":material/warning:"):
    st.write(f"Delete all {len(memories)} memories of {ctx.user} with {persona.name}?")
    if st.button("Yes, forget everything", type="primary"):
        store.forget_all(ctx.user, persona.id)
        st.rerun()
