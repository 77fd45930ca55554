"""The Memory page's parts: filters, the table, edits, a fact's history, import/export, forget."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from app_pages.ui.details import plain
from personalab import Engine, MemoryStore, MemoryStoreError, Persona
from personalab.records import Memory, parse_export, select
from personalab.seeding import reset_demo
from personalab.text.orders import orders_in
from personalab.text.slug import slugify


def filtered(memories: list[Memory]) -> list[Memory]:
    """The memories that match the filters shown above the table."""
    left, middle, right = st.columns([2, 1, 1])
    text = left.text_input("Search", placeholder="words in the memory", key="mem_search")
    kind = middle.selectbox("Kind", ["all", "fact", "turn"], key="mem_kind")
    role = right.selectbox("Who", ["all", "user", "assistant"], key="mem_role")
    left, middle, right = st.columns([2, 1, 1])
    sessions = sorted({m.session for m in memories})
    session = left.selectbox("Session", ["all", *sessions], key="mem_session")
    days = [m.when.date() for m in memories]
    span = middle.date_input(
        "Dates", value=(min(days), max(days)), key="mem_dates", format="YYYY-MM-DD"
    )
    private = right.checkbox("Private only", key="mem_private")
    since = until = None
    if isinstance(span, tuple) and span:  # whole days, in UTC as the table shows them
        since = datetime.combine(span[0], time.min, UTC).timestamp()
        until = datetime.combine(span[-1] + timedelta(days=1), time.min, UTC).timestamp()
    return select(
        memories,
        words=text,
        kind=None if kind == "all" else kind,
        role=None if role == "all" else role,
        session=None if session == "all" else session,
        since=since,
        until=until,
        private_only=private,
    )


def table(memories: list[Memory]) -> None:
    why = {m.id: orders_in(m.text) for m in memories}
    st.dataframe(
        [
            {
                "when": m.when.strftime("%Y-%m-%d %H:%M"),
                "kind": m.kind,
                "who": m.role,
                "text": m.text,
                "private": m.private,
                "pinned": m.pinned,
                "earlier values": len(m.history),
                "where it matters": "; ".join(m.situations),
                "kept out of prompts, as": why[m.id],
                "id": m.id,
            }
            for m in reversed(memories)
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption(f"{len(memories)} shown.")
    if orders := sum(1 for reason in why.values() if reason):
        st.caption(
            f":material/shield: {orders} of them give the assistant orders (a planted "
            "injection, or one read as such): no reply's prompt includes them."
        )


def actions(store: MemoryStore, user: str, persona_id: str, memories: list[Memory]) -> None:
    """Delete, make private or shared, pin or unpin, or edit the selected memories."""
    labels = {m.id: f"{m.kind} · {m.role}: {m.text[:80]}" for m in reversed(memories)}
    chosen = st.multiselect("Select memories", list(labels), format_func=labels.get)
    kinds = {m.id: m.kind for m in memories}
    facts = [i for i in chosen if kinds.get(i) == "fact"]  # only facts can be pinned
    buttons = st.columns(5)
    try:
        if buttons[0].button(
            f"Delete ({len(chosen)})", disabled=not chosen, icon=":material/delete:"
        ):
            store.delete(user, persona_id, chosen)
            st.rerun()
        if buttons[1].button("Make private", disabled=not chosen, icon=":material/lock:"):
            store.set_private(user, persona_id, chosen, True)
            st.rerun()
        if buttons[2].button("Make shareable", disabled=not chosen, icon=":material/lock_open:"):
            store.set_private(user, persona_id, chosen, False)
            st.rerun()
        pin_help = (
            "When not every fact fits a prompt's fact budget, pinned facts are kept first, "
            "whatever the message; the rest by relevance."
        )
        if buttons[3].button("Pin", disabled=not facts, icon=":material/push_pin:", help=pin_help):
            store.set_pinned(user, persona_id, facts, True)
            st.rerun()
        unpin_help = "Unpinned facts reach a full prompt by relevance to the message again."
        if buttons[4].button(
            "Unpin", disabled=not facts, icon=":material/keep_off:", help=unpin_help
        ):
            store.set_pinned(user, persona_id, facts, False)
            st.rerun()
    except MemoryStoreError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
    if facts and len(facts) < len(chosen):
        turns = len(chosen) - len(facts)
        st.caption(f"Pin and Unpin apply to the {len(facts)} selected facts, not to {turns} turns.")
    if len(chosen) == 1:
        memory = store.get(user, persona_id, chosen[0])
        new = st.text_area("Edit the words", value=memory.text, key=f"edit_{memory.id}")
        if st.button("Save the edit", icon=":material/save:") and new.strip() != memory.text:
            try:
                store.edit(user, persona_id, memory.id, new)
            except MemoryStoreError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
            else:
                st.rerun()
        if memory.kind == "fact":
            situations(store, user, persona_id, memory)


def situations(store: MemoryStore, user: str, persona_id: str, fact: Memory) -> None:
    """Where a fact matters, one situation a line: recall matches messages against them."""
    shown = "\n".join(fact.situations)
    new = st.text_area(
        "Where it matters (one situation a line)",
        value=shown,
        key=f"situations_{fact.id}",
        help="Written by a local model after the fact was learned; a message about one of "
        "these situations brings the fact into the prompt. Empty: none.",
    )
    if st.button("Save the situations", icon=":material/save:") and new.strip() != shown:
        try:
            store.set_situations(user, persona_id, fact.id, new.splitlines())
        except MemoryStoreError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
        else:
            st.rerun()


def fact_history(facts: list[Memory]) -> None:
    changed = [m for m in facts if m.history]
    if not changed:
        return
    names = {m.id: m.text[:80] for m in changed}
    pick = st.selectbox("History of a fact", list(names), format_func=names.get, key="mem_hist")
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


def recall_tester(engine: Engine, user: str, persona: Persona) -> None:
    query = st.text_input("A message", placeholder="to see what it would recall", key="mem_test")
    if not query:
        return
    recalled = engine.recall(user, persona, query, "")
    rows = [
        {"kind": "pinned fact" if h.memory.pinned else "fact", "score": h.score,
         "dense": h.similarity, "keyword": 0.0, "text": h.memory.text}
        for h in recalled.facts[:8]
    ] + [
        {"kind": "turn", "score": h.score, "dense": h.dense, "keyword": h.keyword_scaled,
         "text": h.memory.text}
        for h in recalled.episodes
    ] + [
        {"kind": f"{m.kind} kept out: {orders_in(m.text)}", "text": m.text}
        for m in recalled.orders
    ]  # fmt: skip
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        f"Recall took {sum(recalled.timings_ms.values()):.0f} ms. Facts all reach the prompt "
        "while they fit its fact budget (beyond it pinned ones first, then the most relevant); "
        "turns by score."
    )


def export_import(store: MemoryStore, user: str, persona_id: str) -> None:
    st.download_button(
        "Export JSON lines",
        data="\n".join(store.export_jsonl(user, persona_id)) + "\n",
        file_name=f"personalab-{slugify(user)}-{persona_id}-memories.jsonl",
        mime="application/jsonl",
        icon=":material/download:",
    )
    upload = st.file_uploader("Import JSON lines (as exported)", type=["jsonl", "json", "txt"])
    if upload is not None and st.button("Import", icon=":material/upload:"):
        try:
            lines = upload.getvalue().decode("utf-8").splitlines()
            memories = parse_export(lines)
            store.restore(user, persona_id, memories)
        except UnicodeDecodeError:
            st.error("Nothing was imported: the file is not UTF-8 text.", icon=":material/error:")
        except MemoryStoreError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
        else:
            st.success(f"Imported {len(memories)} memories.", icon=":material/check_circle:")


def forget(store: MemoryStore, engine: Engine, user: str, persona: Persona, count: int) -> None:
    with st.popover("Forget all", icon=":material/warning:", disabled=not count):
        st.write(f"Delete all {count} memories of {plain(user)} with {plain(persona.name)}?")
        if st.button("Yes, forget everything", type="primary"):
            store.forget_all(user, persona.id)
            st.rerun()
    if persona.seed.size:
        with st.popover("Reset demo", icon=":material/restart_alt:"):
            st.write(
                f"Forget everything and restore {plain(persona.name)}'s seed history "
                f"({persona.seed.size} memories), exactly as a new user finds it?"
            )
            if st.button("Yes, reset", type="primary", key="reset_demo"):
                reset_demo(engine, user, persona)
                st.rerun()
