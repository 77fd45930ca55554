"""Personas page: the library as cards; view, create, edit, copy, delete, import and export."""

import streamlit as st

from app_pages.ui import group_editor, persona_form, resources
from app_pages.ui.details import plain
from personalab import PersonaError
from personalab.personas.cards import EXPORTS, MAX_IMPORT_BYTES, import_file, remap


def _done(action):
    """Run a library change: what it returns (True if nothing); on failure say why (nothing
    else is touched) and return None."""
    try:
        result = action()
    except PersonaError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return None
    return True if result is None else result


st.title("Personas")
lib = resources.library()
personas, broken = resources.personas()
st.caption(
    f"{len(personas)} personas in {plain(str(lib.directory))}: plain YAML files to edit and share; "
    "a file changed on disk shows up here at once."
)
for b in broken:
    st.warning(f"{plain(b.file_name)} was skipped: {plain(b.reason)}", icon=":material/warning:")

state = st.session_state
browse, create, bring, together = st.tabs(["Library", "New persona", "Import", "Groups"])

with browse:
    for row in range(0, len(personas), 3):
        for box, p in zip(st.columns(3), personas[row : row + 3], strict=False):
            with box.container(border=True):
                avatar = lib.avatar(p)
                if avatar:
                    st.image(avatar, width=64)
                st.markdown(f"**{plain(p.name)}**")
                st.caption(plain(p.summary or p.about[:120]))
                if p.tags:
                    st.caption(" · ".join(plain(t) for t in p.tags))
                st.caption(f"{p.seed.size} seed memories · {len(p.checks())} checked constraints")
                left, right = st.columns(2)
                if left.button("Use", key=f"use_{p.id}", icon=":material/chat:"):
                    state["select_persona"] = p.id
                    st.rerun()
                if right.button("Open", key=f"open_{p.id}", icon=":material/edit:"):
                    state["open_persona"] = p.id

    chosen = next((p for p in personas if p.id == state.get("open_persona")), None)
    if chosen is not None:
        st.subheader(chosen.name)
        origin = chosen.model_extra.get("imported_from") if chosen.model_extra else None
        if isinstance(origin, dict) and origin.get("mapped_to") in ("assistant", "user"):
            mapped = origin["mapped_to"]
            other = "user" if mapped == "assistant" else "assistant"
            st.info(
                f"Imported from a {plain(str(origin.get('format', 'card')))}: its character is "
                f"mapped to **the {mapped}** (who the "
                f"{'assistant plays' if mapped == 'assistant' else 'assistant talks to'}).",
                icon=":material/swap_horiz:",
            )
            if st.button(f"Map the card to the {other} instead", icon=":material/swap_horiz:"):
                switched = remap(chosen, other)
                switched.set_id(chosen.id)
                if _done(lambda: lib.save(switched, overwrite=True)):
                    st.rerun()
        edit, raw, out, danger = st.tabs(["Edit", "Edit as YAML", "Export", "Copy or delete"])
        with edit:
            persona_form.form(f"edit_{chosen.id}", lib, chosen)
        with raw:
            persona_form.yaml_editor(lib, chosen)
        with out:
            avatar = lib.avatar(chosen)
            for fmt, spec in EXPORTS.items():
                label, ext, mime = spec.label, spec.extension, spec.mime
                try:
                    data = resources.exported(chosen, fmt, avatar)
                except PersonaError as exc:
                    st.error(f"{label}: {plain(str(exc))}")
                    continue
                st.download_button(
                    f"Download {label}",
                    data=data,
                    file_name=f"{chosen.id}.{'card.' if fmt.startswith('card') else ''}{ext}",
                    mime=mime,
                    key=f"export_{fmt}_{chosen.id}",
                    icon=":material/download:",
                )
        with danger:
            copied = st.button("Duplicate", key=f"copy_{chosen.id}", icon=":material/content_copy:")
            if copied and (copy := _done(lambda: lib.duplicate(chosen.id))):
                state["open_persona"] = copy.id
                st.rerun()
            with st.popover("Delete", icon=":material/delete:"):
                st.write(f"Delete {plain(chosen.name)}'s file? Memories of it are kept.")
                sure = st.button("Yes, delete", type="primary", key=f"delete_{chosen.id}")
                if sure and _done(lambda: lib.delete(chosen.id)):
                    state.pop("open_persona", None)
                    st.rerun()

with create:
    persona_form.form("new", lib)

with bring:
    st.write(
        "A Character Card (V1, V2 or V3; `.json`, or `.png` with the card inside), a "
        "Pygmalion card, PersonaChat lines (`your persona: i have two dogs.`), a paragraph "
        "describing a person, or a PersonaLab YAML file. Nothing in the file is run, fetched "
        "or shown as HTML."
    )
    role = st.radio(
        "A card's character is",
        ["assistant", "user"],
        format_func={"assistant": "who the assistant plays", "user": "the user"}.get,
        horizontal=True,
        key="import_role",
    )
    upload = st.file_uploader(
        "Persona file", type=["json", "png", "yaml", "yml", "txt"], key="import_file"
    )
    if upload is not None and st.button("Import", type="primary", icon=":material/upload:"):
        try:
            if upload.size > MAX_IMPORT_BYTES:
                raise PersonaError(f"{upload.name} is larger than 10 MB")
            imported = import_file(upload.getvalue(), upload.name, role)
            saved = lib.add(imported.persona, imported.avatar)
        except PersonaError as exc:
            st.error(f"Not imported: {plain(str(exc))}", icon=":material/error:")
        else:
            state["open_persona"] = saved.id
            st.success(
                f"Imported {plain(saved.name)} ({imported.format}, mapped to the "
                f"{imported.mapped_to}) as `{saved.id}`.",
                icon=":material/check_circle:",
            )
            for note in imported.notes:
                st.caption(plain(note))

with together:
    st.caption(
        "A group is 2-6 personas that one answer must serve (Compare, Group mode). Every "
        "member's hard constraints must hold; preferences are weighed as chosen."
    )
    group_editor.groups_tab(resources.base_settings(), personas)
