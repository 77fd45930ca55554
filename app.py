"""PersonaLab's Streamlit entry point: page config, the shared sidebar and page navigation."""

import streamlit as st

from app_pages import common

st.set_page_config(page_title="PersonaLab", page_icon="🧪", layout="wide")
navigation = st.navigation(
    [
        st.Page("app_pages/chat.py", title="Chat", icon="💬", default=True),
        st.Page("app_pages/compare.py", title="Compare", icon="⚖️"),
        st.Page("app_pages/memory.py", title="Memory", icon="🧠"),
        st.Page("app_pages/personas.py", title="Personas", icon="🧑"),
    ]
)
common.sidebar()
navigation.run()
