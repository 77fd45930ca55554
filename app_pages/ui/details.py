"""What stands behind a reply: recalled facts and turns with their scores, profile, prompt."""

from __future__ import annotations

import re

import streamlit as st

from personalab.stage.record import ReplyRecord

ACTION_WORDS = {
    "added": "new fact",
    "restated": "restated",
    "changed": "changed",
    "removed": "removed",
}


def reply_caption(data: dict | ReplyRecord) -> str:
    """The model, the first token (its time in line for the model, and how much of the prompt
    came from the cache), speed."""
    reply = ReplyRecord.of(data)
    stats = reply.stats
    if stats is None:
        return reply.model
    cached = (
        f" ({stats.reused_tokens} of {stats.prompt_tokens} prompt tokens from the prefix cache)"
        if stats.reused_tokens > 0
        else ""
    )
    queued = (
        f", {stats.queued_s:.1f} s of it in line behind {stats.queued_behind} other "
        f"request{'s' if stats.queued_behind != 1 else ''}"
        if stats.queued_behind
        else ""
    )
    return (
        f"{reply.model} · first token {stats.first_token_s:.2f} s{queued}{cached} · "
        f"{stats.total_s:.1f} s in all · {stats.chunks_per_s:.1f} tokens/s"
    )


def facts_learned(data: dict | ReplyRecord) -> None:
    """One caption on what this exchange changed in the fact layer, or why it did not."""
    saved = ReplyRecord.of(data).saved
    if saved is None:
        return
    if saved.facts_error:
        st.caption(f":material/warning: Facts were not updated: {saved.facts_error}")
    elif saved.facts_pending:
        st.caption(":material/hourglass_top: Facts are still being updated in the background.")
    elif saved.facts:
        changes = [f"{ACTION_WORDS.get(c.action, c.action)}: “{c.fact.text}”" for c in saved.facts]
        st.caption(":material/bookmark_added: Learned from this message: " + "; ".join(changes))


def plain(text: str) -> str:
    """Untrusted text for Markdown labels and captions: link, image, HTML, emphasis, code and
    formula marks escaped, so it shows as typed and can load nothing."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~$])", r"\\\1", str(text))


def said(text: str) -> None:
    """The user's own words exactly as typed, and inert: no Markdown, no HTML, no links."""
    st.text(text, width="stretch")


def snippet(text: str, start: int, end: int, around: int = 40) -> str:
    """The words around a span, the span marked: '…grilled ⟦chicken⟧ with rice…'."""
    left = text[max(0, start - around) : start]
    right = text[end : end + around]
    return (
        ("…" if start > around else "")
        + f"{left}⟦{text[start:end]}⟧{right}"
        + ("…" if end + around < len(text) else "")
    ).replace("\n", " ")


def short(constraint: str, limit: int = 48) -> str:
    return constraint if len(constraint) <= limit else constraint[: limit - 1].rstrip() + "…"


def show_checks(data: dict | ReplyRecord) -> None:
    """A badge per check (and the judge), and for each failure the words that broke it."""
    reply = ReplyRecord.of(data)
    results, verdict = reply.results, reply.judge
    if not results and not verdict and not reply.judge_error and not reply.judge_pending:
        return
    with st.container(horizontal=True, gap="small"):
        for r in results:
            name = plain(short(r.check.constraint))
            if r.passed:
                st.badge(name, icon=":material/check:", color="green", help=r.detail)
            else:
                st.badge(name, icon=":material/close:", color="red", help=r.detail)
        if verdict:
            errors = [e.replace("_", " ") for e, on in verdict.errors.items() if on]
            label = "judge: fits" if not errors else "judge: " + ", ".join(errors)
            st.badge(label, icon=":material/gavel:", color="green" if not errors else "orange")
            if verdict.uses_fact is not None:
                used = "uses a fact about you" if verdict.uses_fact else "uses no fact about you"
                st.badge(f"judge: {used}", icon=":material/gavel:", color="gray")
    for r in results:
        if not r.passed and r.spans:
            marks = " · ".join(snippet(reply.text, s.start, s.end) for s in r.spans[:3])
            st.caption(f":material/error: {plain(r.detail)}: {plain(marks)}")
        elif not r.passed:
            st.caption(f":material/error: {plain(r.check.constraint)}: {plain(r.detail)}")
    if reply.guard and len(reply.guard.attempts) > 1:
        st.caption(f":material/shield: Guard: {plain(reply.guard.summary)}")
    if reply.judge_pending:
        st.caption(":material/hourglass_top: The judge was still rating when the page moved on.")
    if reply.judge_error:
        st.caption(
            f":material/warning: The judge could not rate this reply: {plain(reply.judge_error)}"
        )


def show_details(
    data: dict | ReplyRecord,
    label: str = "Memories and profile behind this reply",
    caption: bool = True,
) -> None:
    """An expander with the recalled facts and episodes, the persona fields and the exact prompt."""
    reply = ReplyRecord.of(data)
    prompt = reply.prompt
    facts, episodes = prompt.facts, prompt.memories
    count = f"{len(facts)} facts, {len(episodes)} past turns"
    show_checks(reply)
    facts_learned(reply)
    with st.expander(f"{label} ({count})", icon=":material/psychology:"):
        if caption:
            st.caption(reply_caption(reply))
        tab_facts, tab_mem, tab_profile, tab_prompt, tab_judge = st.tabs(
            ["Facts", "Past turns", "Persona fields", "Prompt", "Checks"]
        )
        with tab_facts:
            if facts:
                st.dataframe(
                    [
                        {
                            "fact": f.memory.text,
                            "about": f.memory.category,
                            "pinned": f.memory.pinned,
                            "relevance": f.score,
                            "similarity": f.parts.get("similarity"),
                        }
                        for f in facts
                    ],
                    hide_index=True,
                    width="stretch",
                )
            else:
                st.write("No facts about the user are known yet.")
            if prompt.held_back:
                st.caption(
                    f":material/lock: {prompt.held_back} private memories were held back: "
                    "this model is not on this machine."
                )
            for m in prompt.set_aside:
                st.caption(
                    f":material/shield: Kept out of the prompt, as {m.why}: {plain(m.text[:200])}"
                )
            if prompt.facts_left_out:
                st.caption(
                    f"{prompt.facts_left_out} facts did not fit the fact budget (pinned ones "
                    "go first, then the most relevant)."
                )
        with tab_mem:
            if episodes:
                st.dataframe(
                    [
                        {
                            "score": m.score,
                            "dense": m.parts.get("dense"),
                            "keyword": m.parts.get("keyword_scaled"),
                            "recency": m.parts.get("recency"),
                            "neighbour": m.parts.get("neighbour"),
                            "when": m.memory.when[:16].replace("T", " "),
                            "who": m.memory.role,
                            "text": m.memory.text,
                        }
                        for m in episodes
                    ],
                    hide_index=True,
                    width="stretch",
                )
                st.caption(prompt.score_formula)
            else:
                st.write("No earlier turn was recalled for this message.")
            if prompt.recent_turns:
                st.caption(f"Also sent: the last {prompt.recent_turns} turns of this chat.")
        with tab_profile:
            fields = prompt.persona_fields
            if fields:
                st.markdown("\n".join(f"- **{f.field}**: {plain(f.value)}" for f in fields))
            else:
                st.write("No persona fields were used.")
        with tab_prompt:
            for m in prompt.messages:
                st.markdown(f"**{m.role}**")
                st.code(m.content, language=None, wrap_lines=True)
        with tab_judge:
            show_check_details(reply)


def show_check_details(data: dict | ReplyRecord) -> None:
    """Every check with its rule and verdict; the guard's attempts; the judge's raw answer."""
    reply = ReplyRecord.of(data)
    if reply.results:
        st.dataframe(
            [
                {
                    "constraint": r.check.constraint,
                    "rule": r.check.rule,
                    "from": r.check.source,
                    "passed": r.passed,
                    "detail": r.detail,
                }
                for r in reply.results
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.write("This persona has no checkable constraints.")
    for i, attempt in enumerate(reply.guard.attempts[:-1] if reply.guard else []):
        st.caption(f"Guard attempt {i + 1}: {plain('; '.join(attempt.failed))}")
        st.code(attempt.text, language=None, wrap_lines=True)
    if reply.judge:
        st.caption(f"Judge ({plain(reply.judge.model)}): {plain(reply.judge.explanation)}")
        st.code(reply.judge.raw, language="json", wrap_lines=True)
