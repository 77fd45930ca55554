"""Export a comparison session (Markdown, JSON) and open an exported one again, read only."""

from __future__ import annotations

import streamlit as st

from app_pages.ui import stage
from app_pages.ui.details import plain, said
from personalab import PersonaLabError
from personalab.stage.transcript import read_session, session_json, session_markdown

EXPORTS = (  # label, writer, file suffix, MIME type, icon
    ("Markdown", session_markdown, "md", "text/markdown", ":material/description:"),
    ("JSON", session_json, "json", "application/json", ":material/data_object:"),
)


def controls(rounds: list[dict], user: str) -> None:
    """Download buttons for this session, and an upload to show an exported one again."""
    with st.expander("Save or open a session", icon=":material/save:"):
        votes = [v for r in rounds for v in r.get("votes", [])]
        for column, (label, write, name, mime, icon) in zip(st.columns(2), EXPORTS, strict=True):
            column.download_button(
                f"Export {label}",
                write(rounds, user, votes),
                file_name=f"personalab-session.{name}",
                mime=mime,
                disabled=not rounds,
                icon=icon,
            )
        upload = st.file_uploader("Open an exported session (JSON)", type=["json"])
        if upload is not None:
            try:
                st.session_state["replay"] = read_session(upload.getvalue())
            except PersonaLabError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
    replay(st.session_state.get("replay"))


def replay(session: dict | None) -> None:
    """An exported session shown again exactly, read only (no model, no memory)."""
    if not session:
        return
    st.subheader(f"Exported session of {stage.plain(str(session.get('user', '')))} (read only)")
    for n, round_ in enumerate(session["rounds"]):
        with st.chat_message("user"):
            said(round_["message"])
        stage.show_round(round_ | {"voted": round_.get("voted") or "shown"}, f"replay{n}", False,
                         round_.get("grid", False))  # fmt: skip
    if st.button("Close the exported session", icon=":material/close:"):
        st.session_state.pop("replay")
        st.rerun()
