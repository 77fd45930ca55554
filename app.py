"""PersonaLab's Streamlit entry point: page config, the shared sidebar and page navigation."""

import streamlit as st

from app_pages.ui import sidebar

# An emoji favicon is drawn in the page; a Material icon there is fetched from Google's servers.
st.set_page_config(page_title="PersonaLab", page_icon="🧪", layout="wide")
navigation = st.navigation(
    [
        st.Page("app_pages/chat.py", title="Chat", icon=":material/chat:", default=True),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("app_pages/present.py", title="Present", icon=":material/co_present:"),
        st.Page("app_pages/memory.py", title="Memory", icon=":material/psychology:"),
        st.Page("app_pages/personas.py", title="Personas", icon=":material/person:"),
        st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
    ]
)
sidebar.sidebar()
navigation.run()
