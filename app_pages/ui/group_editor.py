"""The Personas page's Groups tab: the groups as cards, and a form to create, edit or delete."""

from __future__ import annotations

import streamlit as st

from app_pages.ui.details import plain
from personalab import PersonaError
from personalab.personas.groups import Group, GroupLibrary, Strategy, parse_group
from personalab.personas.model import Persona

LABELS = {"average": "Average", "least_misery": "Least misery", "most_pleasure": "Most pleasure"}


def groups_tab(settings, personas: list[Persona]) -> None:
    """Every group with its members (a deleted member shown as missing), and the form."""
    library = GroupLibrary(settings.personas_dir)
    groups, broken = library.load()
    for name, reason in broken:
        st.warning(f"{plain(name)} was skipped: {plain(reason)}", icon=":material/warning:")
    names = {p.id: p.name for p in personas}
    state = st.session_state
    if saved := state.pop("group_saved", None):
        st.success(plain(saved), icon=":material/check:")
    for group in groups:
        with st.container(border=True):
            learns = " · members learn" if group.members_learn else ""
            st.markdown(f"**{plain(group.name)}** · {LABELS[group.strategy.value]}{learns}")
            listed = [plain(names[m]) if m in names else f"~~{plain(m)}~~ (missing)"
                      for m in group.members]  # fmt: skip
            st.caption(" · ".join(listed))
            if group.context:
                st.caption(plain(group.context))
            left, right = st.columns(2)
            if left.button("Edit", key=f"edit_group_{group.id}", icon=":material/edit:"):
                state["edit_group"] = group.id
            with right.popover("Delete", icon=":material/delete:"):
                st.write(f"Delete the group {plain(group.name)}? Its members stay.")
                if st.button("Yes, delete", type="primary", key=f"delete_group_{group.id}"):
                    library.delete(group.id)
                    state.pop("edit_group", None)
                    st.rerun()
    editing = next((g for g in groups if g.id == state.get("edit_group")), None)
    form(library, names, editing)


def form(library: GroupLibrary, names: dict[str, str], group: Group | None) -> None:
    """Create a group, or edit one (same file); a bad one is refused with the reason."""
    key = f"group_form_{group.id if group else 'new'}"
    st.subheader(f"Edit {group.name}" if group else "New group")
    with st.form(key):
        name = st.text_input("Name", value=group.name if group else "", key=f"{key}_name")
        members = st.multiselect(
            "Members (2-6)", list(names), default=[m for m in (group.members if group else [])
                                                   if m in names],
            format_func=names.get, max_selections=6, key=f"{key}_members",
        )  # fmt: skip
        context = st.text_area("Shared context", value=group.context if group else "",
                               key=f"{key}_context")  # fmt: skip
        strategy = st.radio(
            "Preferences are weighed by", [s.value for s in Strategy], horizontal=True,
            format_func=LABELS.get, key=f"{key}_strategy",
            index=[s.value for s in Strategy].index(group.strategy.value) if group else 1,
        )  # fmt: skip
        questions = st.text_area(
            "Prepared questions for Present (one per line, at most 6)",
            value="\n".join(group.questions) if group else "", key=f"{key}_questions",
        )  # fmt: skip
        learn = st.checkbox(
            "Members learn: a member's own memory keeps the facts they state in the group chat",
            value=group.members_learn if group else False, key=f"{key}_learn",
        )  # fmt: skip
        if not st.form_submit_button("Save group", type="primary", icon=":material/save:"):
            return
    fields = {"name": name, "members": members, "context": context, "strategy": strategy,
              "questions": [q.strip() for q in questions.splitlines() if q.strip()],
              "members_learn": learn}  # fmt: skip
    try:
        saved = library.save(
            parse_group(fields).model_copy(update={"id": group.id if group else ""})
        )
    except PersonaError as exc:
        st.error(f"Not saved: {plain(str(exc))}", icon=":material/error:")
        return
    st.session_state["group_saved"] = f"Saved the group {saved.name} as {saved.id}."
    st.session_state.pop("edit_group", None)
    st.rerun()  # the list above shows it
