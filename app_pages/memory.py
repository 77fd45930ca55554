"""Memory page: the facts and turns kept for this user and persona; test recall, delete, export."""

from datetime import datetime

import streamlit as st

from app_pages.ui import resources, sidebar
from personalab import Engine, MemoryStoreError
from personalab.personas import slugify
from personalab.seeding import reset_demo

ctx = sidebar.context()
persona = sidebar.require_persona(ctx)
st.title("Memory")
st.caption(
    f"What is remembered for **{ctx.user}** with **{persona.name}**. "
    "Memories are kept per user and persona, on this machine only."
)

try:
    store = resources.store(ctx.settings)
    memories = store.list(ctx.user, persona.id)
except MemoryStoreError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

facts = [m for m in memories if m.kind == "fact"]
turns = [m for m in memories if m.kind == "turn"]
left, right = st.columns(2)
left.metric("Facts about the user", len(facts))
right.metric("Conversation turns", len(turns))
if not memories:
    st.info(
        "Nothing is stored yet: chat on the Chat or Compare page and every exchange lands here."
    )
    st.stop()

query = st.text_input("Test recall", placeholder="a message, to see what it would recall")
if query:
    recalled = Engine(store, None, ctx.settings).recall(ctx.user, persona, query, "")
    rows = [
        {
            "kind": "fact",
            "score": h.score,
            "dense": h.similarity,
            "keyword": 0.0,
            "text": h.memory.text,
        }
        for h in recalled.facts[:8]
    ]
    rows += [
        {
            "kind": "turn",
            "score": h.score,
            "dense": h.dense,
            "keyword": h.keyword_scaled,
            "text": h.memory.text,
        }
        for h in recalled.episodes
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        f"Recall took {sum(recalled.timings_ms.values()):.0f} ms. Facts all reach the prompt "
        "while they fit its fact budget (most relevant first beyond it); turns by score."
    )

st.subheader("Facts")
if facts:
    st.dataframe(
        [
            {
                "fact": m.text,
                "about": m.category,
                "since": m.when.strftime("%Y-%m-%d"),
                "earlier values": len(m.history),
                "id": m.id,
            }
            for m in reversed(facts)
        ],
        hide_index=True,
        width="stretch",
    )
    changed = [m for m in facts if m.history]
    if changed:
        names = {m.id: m.text[:80] for m in changed}
        pick = st.selectbox("History of a fact", list(names), format_func=names.get)
        fact = next(m for m in changed if m.id == pick)
        st.dataframe(
            [
                {
                    "value": r.text,
                    "said": datetime.fromtimestamp(r.at).strftime("%Y-%m-%d %H:%M"),
                    "then": r.change,
                }
                for r in fact.history
            ]
            + [{"value": fact.text, "said": "now", "then": "current"}],
            hide_index=True,
            width="stretch",
        )
else:
    st.write("No durable fact has been stated yet.")

st.subheader("Conversation turns")
st.dataframe(
    [
        {"when": m.when.strftime("%Y-%m-%d %H:%M"), "who": m.role, "text": m.text, "id": m.id}
        for m in reversed(turns)
    ],
    hide_index=True,
    width="stretch",
)
labels = {m.id: f"{m.kind} · {m.role}: {m.text[:80]}" for m in reversed(memories)}
chosen = st.multiselect("Select memories to delete", list(labels), format_func=labels.get)
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
if persona.seed.size:
    with st.popover("Reset demo", icon=":material/restart_alt:"):
        st.write(
            f"Forget everything and restore {persona.name}'s seed history "
            f"({persona.seed.size} memories), exactly as a new user finds it?"
        )
        if st.button("Yes, reset", type="primary", key="reset_demo"):
            reset_demo(Engine(store, None, ctx.settings), ctx.user, persona)
            st.rerun()
