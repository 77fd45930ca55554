"""Presenter mode: large type, no sidebar, a persona's or a group's prepared questions one click
away, reset."""

import streamlit as st

from app_pages.ui import details, group_stage, replies, resources, session_io, sidebar, stage
from personalab import ColumnKind, PersonaLabError
from personalab.seeding import reset_demo

# Our own fixed style (no user or model text goes into it): big type, the sidebar out of sight.
st.html(
    """<style>
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
    [data-testid="stMain"] p, [data-testid="stMain"] li {font-size: 1.45rem; line-height: 1.5;}
    [data-testid="stMain"] h1 {font-size: 3rem;}
    [data-testid="stCaptionContainer"] p {font-size: 1.1rem;}
    </style>"""
)
ctx = sidebar.context()
state = st.session_state
personas, _ = resources.personas()
if not personas:
    st.info("There are no personas yet: create one on the Personas page.")
    st.stop()


def prepared_buttons(questions: list[str], key: str) -> str | None:
    """The prepared questions, one click each; the one clicked, if any."""
    picked = None
    if questions:
        st.write("Prepared questions:")
        with st.container(horizontal=True):
            for n, question in enumerate(questions):
                if st.button(question, key=f"prepared_{key}_{n}"):
                    picked = question
    return picked


def ask(picked: str | None, rounds: list[dict], key: str, run) -> None:
    """The chat box; each waiting message shown, then answered by run(engine, message) (its
    round kept, or the message kept when it fails); the session's export."""
    typed = st.chat_input("Or ask your own question", key="present_message")
    for message in replies.queued("present", key, picked or replies.next_message("present", typed)):
        with st.chat_message("user"):
            details.said(message)
        engine = replies.attempt(lambda: resources.engine(ctx.settings))
        done = engine and run(engine, message)
        if done:
            rounds.append(done)
        else:
            replies.keep_failed("present", message)
    replies.show_failed("present")
    session_io.controls(rounds, ctx.user)


mode_box, left, right = st.columns([1, 3, 1])
mode = mode_box.segmented_control("Present", ["Persona", "Group"], default="Persona",
                                  key="present_mode")  # fmt: skip
if mode == "Group":
    group, members, alone = group_stage.pick_group(left, ctx.settings)
    if group is None:
        st.stop()
    st.title(stage.plain(group.name))
    st.caption(" · ".join([stage.plain(m.name) for m in members] + [stage.plain(group.context)]))
    rounds = state.setdefault("present_rounds", {}).setdefault(f"{ctx.user}\0{group.scope}", [])
    picked = prepared_buttons(group.questions, group.id)
    for past in rounds:
        group_stage.show_group_round(past)
    ask(picked, rounds, f"{ctx.user}\0{group.scope}",
        lambda engine, message: group_stage.run_group_round(
            engine, ctx.user, ctx.session, message, group, members, alone))  # fmt: skip
    st.stop()

names = {p.id: p.name for p in personas}
current = ctx.persona.id if ctx.persona else personas[0].id
chosen = left.selectbox(
    "Persona", list(names), index=list(names).index(current), format_func=names.get,
    key="present_persona",
)  # fmt: skip
persona = next(p for p in personas if p.id == chosen)
ctx = ctx.__class__(ctx.settings, ctx.user, persona, ctx.session)
sidebar.require_persona(ctx)
replies.warm_up(ctx.settings, ctx.user, persona, ctx.session)
st.title(stage.plain(persona.name))
st.caption(stage.plain(persona.summary))

rounds = state.setdefault("present_rounds", {}).setdefault(f"{ctx.user}\0{persona.id}", [])
if right.button("Reset demo", icon=":material/restart_alt:", help="Back to the seed history"):
    try:
        reset_demo(resources.memory_engine(ctx.settings), ctx.user, persona)
        rounds.clear()
        st.toast(f"{stage.plain(persona.name)} is back to the start of the demo.")
    except PersonaLabError as exc:
        st.error(stage.plain(str(exc)), icon=":material/error:")

picked = prepared_buttons([p.question for p in persona.probes], persona.id)

for n, past in enumerate(rounds):
    with st.chat_message("user"):
        details.said(past["message"])
    stage.show_round(past, f"present{n}", False, False)

columns = [(persona, ColumnKind.GENERIC), (persona, ColumnKind.PERSONALIZED)]
ask(
    picked,
    rounds,
    f"{ctx.user}\0{persona.id}",
    lambda engine, message: stage.run_round(engine, ctx.user, ctx.session, message, columns),
)
