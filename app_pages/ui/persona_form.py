"""The persona form (new and edit) with a message beside the field at fault, and the YAML editor."""

from __future__ import annotations

import streamlit as st
import yaml
from pydantic import ValidationError

from app_pages.ui.details import plain
from personalab import Persona, PersonaError
from personalab.personas.library import PersonaLibrary
from personalab.personas.model import LIST_FIELDS, describe_validation_error, validation_messages

TEXT = {"name": 120, "summary": 500, "style": 2000, "assistant_role": 4000}
LABELS = {
    "name": "Name *",
    "summary": "Summary",
    "about": "About / background",
    "interests": "Interests",
    "preferences": "Preferences",
    "goals": "Goals",
    "constraints": "Constraints",
    "style": "Style",
    "assistant_role": "Assistant role (optional)",
    "tags": "Tags",
}
HELP = {
    "summary": "One line shown in the app.",
    "constraints": "One per line. Checks (forbidden terms, length, language) are kept when the "
    "text is unchanged; edit them under 'Edit as YAML'.",
    "style": "How answers should be written.",
    "assistant_role": "How the assistant should act, e.g. 'Act as a patient maths coach.'",
    "tags": "Comma separated, e.g. food, student, spanish.",
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Validation problems by top-level field: {'name': 'must not be empty', ...}."""
    errors: dict[str, str] = {}
    for where, message in validation_messages(exc):
        field, _, rest = where.partition(".")
        errors.setdefault(field, f"{rest}: {message}" if rest else message)
    return errors


def values(prefix: str, base: Persona | None) -> dict:
    """The form's values as persona data; unchanged constraints keep their checks."""
    state = st.session_state
    data = {f: state.get(f"{prefix}_{f}", "") for f in LABELS}
    for name in LIST_FIELDS:
        data[name] = [line.strip() for line in data[name].splitlines() if line.strip()]
    if base is not None:
        kept = {c.text: c for c in base.constraints}
        data["constraints"] = [
            kept[t].model_dump(exclude_defaults=True) if t in kept else t
            for t in data["constraints"]
        ]
        extra = base.model_dump(exclude=set(LABELS))
        data = extra | data  # seed, probes, avatar and unknown card fields survive an edit
    return data


def submit(prefix: str, library: PersonaLibrary, base: Persona | None) -> None:
    """Validate and save (a form callback); errors are kept per field for the next run."""
    state = st.session_state
    try:
        persona = Persona.model_validate(values(prefix, base))
    except ValidationError as exc:
        state[f"{prefix}_errors"] = field_errors(exc)
        return
    state[f"{prefix}_errors"] = {}
    try:
        if base is None:
            library.save(persona)
        else:
            persona.set_id(base.id)
            library.save(persona, overwrite=True)
    except PersonaError as exc:
        state[f"{prefix}_errors"] = {"name": str(exc)}
        return
    state["select_persona"] = persona.id
    state[f"{prefix}_saved"] = plain(persona.name)


def form(prefix: str, library: PersonaLibrary, base: Persona | None = None) -> None:
    """A persona form; a message appears under each field that is wrong."""
    state = st.session_state
    errors = state.get(f"{prefix}_errors", {})
    if base is not None and state.get(f"{prefix}_loaded") != base.id:
        for field in LABELS:
            value = getattr(base, field)
            if field == "constraints":
                value = "\n".join(base.constraint_texts)
            elif isinstance(value, list):
                value = ", ".join(value) if field == "tags" else "\n".join(value)
            state[f"{prefix}_{field}"] = value
        state[f"{prefix}_loaded"] = base.id
    with st.form(f"{prefix}_form"):
        for field, label in LABELS.items():
            key = f"{prefix}_{field}"
            if field in LIST_FIELDS or field == "about":
                st.text_area(label, key=key, help=HELP.get(field), height=100)
            else:
                limit = TEXT.get(field, 200)
                st.text_input(label, key=key, help=HELP.get(field), max_chars=limit)
            if field in errors:
                st.error(f"{label.rstrip(' *')}: {errors[field]}", icon=":material/error:")
        for field in set(errors) - set(LABELS):
            st.error(f"{field}: {errors[field]}", icon=":material/error:")
        st.form_submit_button(
            "Save persona", type="primary", on_click=submit, args=(prefix, library, base)
        )
    saved = state.pop(f"{prefix}_saved", None)
    if saved:
        st.success(f"Saved {saved}; it is now selected.", icon=":material/check_circle:")
        st.page_link(
            "app_pages/chat.py", label=f"Chat with {saved} in mind", icon=":material/chat:"
        )


def yaml_editor(library: PersonaLibrary, persona: Persona) -> None:
    """Edit every field, checks and seed included, as YAML; saved only when it validates."""
    key = f"yaml_{persona.id}"
    text = st.text_area("YAML", value=persona.to_yaml(), key=key, height=400)
    if st.button("Save YAML", key=f"save_{key}", icon=":material/save:"):
        try:
            data = yaml.safe_load(text)
            if not isinstance(data, dict):
                raise PersonaError("the YAML must be a mapping of fields")
            updated = Persona.model_validate(data)
        except yaml.YAMLError as exc:
            st.error(f"Not saved: not valid YAML: {str(exc).splitlines()[0]}")
            return
        except ValidationError as exc:
            st.error(f"Not saved: {describe_validation_error(exc)}")
            return
        except PersonaError as exc:
            st.error(f"Not saved: {plain(str(exc))}")
            return
        updated.set_id(persona.id)
        library.save(updated, overwrite=True)
        st.success("Saved.", icon=":material/check_circle:")
