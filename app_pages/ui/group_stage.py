"""Compare's group mode: generic, one member alone, and the group answer, each with a member x
constraint matrix under it."""

from __future__ import annotations

import streamlit as st

from app_pages.ui import resources
from app_pages.ui.details import plain, said, short, snippet
from app_pages.ui.stage import stream_replies
from personalab import ColumnKind, PersonaLabError
from personalab.groups import group_reply, verdict_json
from personalab.personas.groups import Group, GroupLibrary
from personalab.personas.model import Persona
from personalab.text.safe import safe_markdown


def pick_group(where, settings) -> tuple[Group | None, list[Persona], Persona | None]:
    """The group and the member answered alone, chosen in `where`; shows what is missing."""
    library = GroupLibrary(settings.personas_dir)
    groups, broken = library.load()
    for name, reason in broken:
        st.caption(f":material/warning: Group file {plain(name)} cannot be used: {plain(reason)}")
    if not groups:
        where.info("No groups yet: add one with `python -m personalab group create`.")
        return None, [], None
    by_id = {g.id: g for g in groups}
    group = by_id[where.selectbox("Group", list(by_id), format_func=lambda g: by_id[g].name,
                                  key="compare_group")]  # fmt: skip
    members, missing = library.members(group, resources.personas()[0])  # parsed once, cached
    if missing:
        st.warning(f"Not in the library any more: {plain(', '.join(missing))}")
    if len(members) < 2:
        return None, members, None
    names = {p.id: p.name for p in members}
    alone = where.selectbox("Answered alone for", list(names), format_func=names.get,
                            key="compare_group_alone")  # fmt: skip
    return group, members, next(p for p in members if p.id == alone)


def pick_speaker(where, group: Group, members: list[Persona]) -> str | None:
    """Who in the group is typing: their own memory learns the facts they state, when the
    group lets members learn; None for the group as a whole."""
    names = {"": "The group as a whole"} | {p.id: p.name for p in members}
    help_ = ("Their own memory learns the facts they state here." if group.members_learn
             else "This group keeps what is said to itself (members do not learn).")  # fmt: skip
    chosen = where.selectbox("Speaking as", list(names), format_func=names.get, help=help_,
                             key="group_speaker")  # fmt: skip
    return chosen or None


def run_group_round(
    engine, user: str, session: str, message: str, group: Group, members: list[Persona],
    alone: Persona, speaker: str | None = None,
) -> dict | None:  # fmt: skip
    """Stream the three columns; the round (with each column's matrix), or None (shown)."""
    try:
        answer = group_reply(engine, user, group, members, message, session, speaker=speaker)
        generic, solo = engine.compare(
            user, alone, message, session, [ColumnKind.GENERIC, ColumnKind.PERSONALIZED], False
        )
    except PersonaLabError as exc:
        st.error(f"No reply: {plain(str(exc))}", icon=":material/error:")
        return None
    for clash in answer.clashes:
        st.warning(f"Clash found by the checks: {plain(clash)}", icon=":material/call_split:")
    titles = ["Generic", f"{alone.name} alone", f"The group: {group.name}"]
    meta = [{"title": t} for t in titles]
    finished = stream_replies(engine, [generic, solo, answer.reply], titles, meta, footers=False)
    names = {m.persona.id: m.persona.name for m in answer.members}
    for data in finished:
        data["matrix"] = {
            pid: report.to_json() for pid, report in answer.matrix(data["text"]).items()
        }
        data["member_names"] = names
        data["kept_for"] = answer.kept_for(data["text"])
    if not finished:
        return None
    rate_members(answer, next((d for d in finished if d["title"] == titles[2]), None))
    round_ = {"message": message, "columns": finished, "group": group.id, "clashes": answer.clashes}
    show_matrices(round_)
    return round_


def rate_members(answer, column: dict | None) -> None:
    """With a judge set up: its verdict on the group answer for each member, told only that
    member's rules and facts, kept with the group's column."""
    if answer.judge is None or column is None:
        return
    with st.spinner(
        f"The judge ({answer.judge.backend.name}) is rating the answer for each member…"
    ):
        column["verdicts"] = {pid: verdict_json(v) for pid, v in answer.rate_members().items()}


def show_verdict(name: str, verdict: dict) -> None:
    """One member's judge badge, or why the judge could not rate the answer for them."""
    if "error" in verdict:
        st.caption(f":material/warning: The judge could not rate this for {plain(name)}: "
                   f"{plain(verdict['error'])}")  # fmt: skip
        return
    errors = [e.replace("_", " ") for e, on in verdict["errors"].items() if on]
    with st.container(horizontal=True, gap="small"):
        # No explanation on the stage: the judge saw this member's private facts, and the room
        # sees the screen.
        st.badge("judge: fits" if not errors else "judge: " + ", ".join(errors),
                 icon=":material/gavel:", color="green" if not errors else "orange")  # fmt: skip
        if verdict["uses_fact"] is not None:
            used = "uses a fact about them" if verdict["uses_fact"] else "uses no fact about them"
            st.badge(f"judge: {used}", icon=":material/gavel:", color="gray")


def show_group_round(round_: dict) -> None:
    """A finished group round: the three answers, then their matrices."""
    with st.chat_message("user"):
        said(round_["message"])
    for clash in round_.get("clashes", []):
        st.warning(f"Clash found by the checks: {plain(clash)}", icon=":material/call_split:")
    for box, data in zip(st.columns(len(round_["columns"]), border=True), round_["columns"],
                         strict=True):  # fmt: skip
        with box:
            st.markdown(f"**{plain(data['title'])}**")
            st.markdown(safe_markdown(data["text"]))
    show_matrices(round_)


def show_matrices(round_: dict) -> None:
    """Under each column: a row per member, a green or red badge per constraint with the words
    that broke it, and the 'kept for' line."""
    for box, data in zip(st.columns(len(round_["columns"])), round_["columns"], strict=True):
        with box:
            st.caption(plain(data["kept_for"].capitalize()))
            for pid, report in data["matrix"].items():
                member = data["member_names"].get(pid, pid)
                st.markdown(f"**{plain(member)}**")
                with st.container(horizontal=True, gap="small"):
                    for check in report["checks"]:
                        name = plain(short(check["check"]["constraint"], 36))
                        ok = check["passed"]
                        st.badge(name, icon=":material/check:" if ok else ":material/close:",
                                 color="green" if ok else "red")  # fmt: skip
                for check in report["checks"]:
                    if not check["passed"] and check.get("spans"):
                        marks = " · ".join(
                            snippet(data["text"], s["start"], s["end"]) for s in check["spans"][:2]
                        )
                        st.caption(f":material/error: {plain(marks)}")
                if pid in data.get("verdicts", {}):
                    show_verdict(member, data["verdicts"][pid])
