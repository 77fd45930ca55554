"""What stands behind a reply: recalled facts and turns with their scores, profile, prompt."""

from __future__ import annotations

import streamlit as st

ACTION_WORDS = {
    "added": "new fact",
    "restated": "restated",
    "changed": "changed",
    "removed": "removed",
}


def reply_caption(data: dict) -> str:
    stats = data.get("stats") or {}
    if not stats:
        return data.get("model", "")
    return (
        f"{data['model']} · first token {stats['first_token_s']:.2f} s · "
        f"{stats['total_s']:.1f} s in all · {stats['chunks_per_s']:.1f} tokens/s"
    )


def facts_learned(data: dict) -> None:
    """One caption on what this exchange changed in the fact layer, or why it did not."""
    saved = data.get("saved") or {}
    if saved.get("facts_error"):
        st.caption(f":material/warning: Facts were not updated: {saved['facts_error']}")
    elif saved.get("facts_pending"):
        st.caption(":material/hourglass_top: Facts are still being updated in the background.")
    elif saved.get("facts"):
        changes = [
            f"{ACTION_WORDS.get(c['action'], c['action'])}: “{c['fact']['text']}”"
            for c in saved["facts"]
        ]
        st.caption(":material/bookmark_added: Learned from this message: " + "; ".join(changes))


def show_details(data: dict, label: str = "Memories and profile behind this reply") -> None:
    """An expander with the recalled facts and episodes, the persona fields and the exact prompt."""
    prompt = data["prompt"]
    facts, episodes = prompt.get("facts", []), prompt["memories"]
    count = f"{len(facts)} facts, {len(episodes)} past turns"
    facts_learned(data)
    with st.expander(f"{label} ({count})", icon=":material/psychology:"):
        st.caption(reply_caption(data))
        tab_facts, tab_mem, tab_profile, tab_prompt = st.tabs(
            ["Facts", "Past turns", "Persona fields", "Prompt"]
        )
        with tab_facts:
            if facts:
                st.dataframe(
                    [
                        {
                            "fact": f["memory"]["text"],
                            "about": f["memory"]["category"],
                            "relevance": f["score"],
                            "similarity": f["parts"]["similarity"],
                        }
                        for f in facts
                    ],
                    hide_index=True,
                    width="stretch",
                )
            else:
                st.write("No facts about the user are known yet.")
            if prompt.get("facts_left_out"):
                st.caption(
                    f"{prompt['facts_left_out']} less relevant facts did not fit the fact budget."
                )
        with tab_mem:
            if episodes:
                st.dataframe(
                    [
                        {
                            "score": m["score"],
                            "dense": m["parts"]["dense"],
                            "keyword": m["parts"]["keyword_scaled"],
                            "recency": m["parts"]["recency"],
                            "neighbour": m["parts"]["neighbour"],
                            "when": m["memory"]["when"][:16].replace("T", " "),
                            "who": m["memory"]["role"],
                            "text": m["memory"]["text"],
                        }
                        for m in episodes
                    ],
                    hide_index=True,
                    width="stretch",
                )
                st.caption(
                    "score = 0.4 × dense + 0.6 × keyword (each scaled 0-1 among candidates) "
                    "+ 0.05 × recency + half the best neighbouring turn's score"
                )
            else:
                st.write("No earlier turn was recalled for this message.")
            if prompt["recent_turns"]:
                st.caption(f"Also sent: the last {prompt['recent_turns']} turns of this chat.")
        with tab_profile:
            fields = prompt["persona_fields"]
            if fields:
                st.markdown("\n".join(f"- **{f['field']}**: {f['value']}" for f in fields))
            else:
                st.write("No persona fields were used.")
        with tab_prompt:
            for m in prompt["messages"]:
                st.markdown(f"**{m['role']}**")
                st.code(m["content"], language=None, wrap_lines=True)
