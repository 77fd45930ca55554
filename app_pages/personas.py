"""Personas page: the library (with files that failed to load) and a form for a new persona."""

import streamlit as st

from app_pages.ui import resources
from personalab import PersonaError
from personalab.personas import LIST_FIELDS, parse_persona

st.title("Personas")
lib = resources.library()
personas, broken = lib.load()
st.caption(
    f"{len(personas)} personas in `{lib.directory}`: plain YAML files you can edit and share."
)
for b in broken:
    st.warning(f"`{b.file_name}` was skipped: {b.reason}", icon=":material/warning:")

st.subheader("New persona")
with st.form("new_persona"):
    st.text_input("Name *", key="new_name", max_chars=80)
    st.text_input("Summary", key="new_summary", max_chars=200, help="One line shown in the app.")
    st.text_area("About / background", key="new_about", max_chars=1500)
    left, right = st.columns(2)
    for i, name in enumerate(LIST_FIELDS):
        (left if i % 2 == 0 else right).text_area(
            name.capitalize(), key=f"new_{name}", help="One per line.", height=100
        )
    st.text_input("Style", key="new_style", max_chars=500, help="How answers should be written.")
    st.text_input(
        "Assistant role (optional)",
        key="new_assistant_role",
        max_chars=500,
        help="How the assistant should act, e.g. 'Act as a patient maths coach.'",
    )
    submitted = st.form_submit_button("Save persona", type="primary")

if submitted:
    fields = ["name", "summary", "about", *LIST_FIELDS, "style", "assistant_role"]
    data = {f: st.session_state.get(f"new_{f}", "") for f in fields}
    for name in LIST_FIELDS:
        data[name] = [line for line in data[name].splitlines() if line.strip()]
    try:
        persona = parse_persona(data)
        path = lib.save(persona)
    except PersonaError as exc:
        st.error(f"Not saved: {exc}", icon=":material/error:")
    else:
        st.session_state["select_persona"] = persona.id
        st.success(
            f"Saved {persona.name} to `{path.name}`; it is now selected.",
            icon=":material/check_circle:",
        )
        st.page_link(
            "app_pages/chat.py", label=f"Chat with {persona.name} in mind", icon=":material/chat:"
        )

st.subheader("Library")
for p in personas:
    with st.expander(f"**{p.name}** · {p.summary}"):
        st.code(p.to_yaml(), language="yaml")
