"""Compare page: one message, several answers at once; persona grid, blind vote, what changed."""

import streamlit as st

from app_pages.ui import details, group_stage, replies, resources, session_io, sidebar, stage
from personalab import ColumnKind, PersonaLabError

ctx = sidebar.context()
persona = sidebar.require_persona(ctx)
replies.warm_up(ctx.settings, ctx.user, persona, ctx.session)
state = st.session_state
st.title("Compare")

personas, _ = resources.personas()
names = {p.id: p.name for p in personas}
left, middle, right = st.columns([2, 3, 1])
mode = left.segmented_control(
    "Compare", ["Columns", "Persona grid", "Group"], default="Columns", key="compare_mode"
)
group = None
if mode == "Group":
    group, members, alone = group_stage.pick_group(middle, ctx.settings)
    speaker = group and group_stage.pick_speaker(middle, group, members)
    columns = []
elif mode == "Persona grid":
    others = [p.id for p in personas if p.id != persona.id][:2]
    chosen = middle.multiselect(
        "Personas (2-4)", list(names), default=[persona.id, *others], format_func=names.get,
        max_selections=4, key="grid_personas",
    )  # fmt: skip
    columns = [(p, ColumnKind.PERSONALIZED) for p in personas if p.id in chosen]
else:
    kinds = middle.multiselect(
        "Columns", [k.value for k in ColumnKind], default=["generic", "personalized"],
        format_func=lambda k: stage.TITLES[k], key="compare_kinds",
    )  # fmt: skip
    columns = [(persona, ColumnKind(k)) for k in kinds]
blind = right.toggle(
    "Blind vote", key="blind_vote", help="Answers unlabelled until you vote.", disabled=bool(group)
)
blind = blind and group is None
grid = mode == "Persona grid"
st.caption(
    f"{stage.plain(persona.name)}: {stage.plain(persona.summary)} · asking as "
    f"**{stage.plain(ctx.user)}**"
    if not grid
    else f"The same question for {len(columns)} personas, each with its own memories."
)

rounds = state.setdefault("compare_rounds", {}).setdefault(f"{ctx.user}\0{persona.id}", [])
for n, past in enumerate(rounds):
    if past.get("group"):
        group_stage.show_group_round(past)
        continue
    with st.chat_message("user"):
        details.said(past["message"])
    stage.show_round(past, f"round{n}", blind, past.get("grid", False))
    if not blind or past.get("voted") is not None:
        with st.expander("What changed, and why", icon=":material/difference:"):
            stage.what_changed(past)
            stage.attribution(past, resources.embedder(ctx.settings))

typed = st.chat_input("One message, several answers", key="compare_message")


def answer(message: str) -> bool:
    """Answer one message in the chosen mode; True when a blind round waits for its vote."""
    if mode != "Group" and not 1 <= len(columns) <= 4:
        st.warning("Choose one to four columns (or two to four personas).")
        replies.keep_failed("compare", message)
        return False
    with st.chat_message("user"):
        details.said(message)
    engine = replies.attempt(lambda: resources.engine(ctx.settings))
    if mode == "Group":
        done = engine and group and group_stage.run_group_round(
            engine, ctx.user, ctx.session, message, group, members, alone, speaker
        )  # fmt: skip
    else:
        try:
            done = engine and stage.run_round(
                engine, ctx.user, ctx.session, message, columns, blind
            )
        except PersonaLabError as exc:
            st.error(f"No reply: {stage.plain(str(exc))}", icon=":material/error:")
            done = None
        if done:
            done["grid"] = grid
    if not done:
        replies.keep_failed("compare", message)
        return False
    rounds.append(done)
    return blind


key = f"{ctx.user}\0{persona.id}"
waiting = replies.queued("compare", key, replies.next_message("compare", typed))
voting = [answer(m) for m in waiting]  # every waiting message, oldest first
if any(voting):
    st.rerun()  # show the blind rounds unlabelled, with the vote buttons
replies.show_failed("compare")
session_io.controls(rounds, ctx.user)
with st.expander("Blind-vote win rates", icon=":material/how_to_vote:"):
    stage.vote_tally(ctx.settings, persona.id)
