"""The comparison stage: columns streamed side by side, blind votes, what changed, attribution."""

from __future__ import annotations

import random

import streamlit as st

from app_pages.ui import resources
from app_pages.ui.details import plain, reply_caption, show_checks, show_details
from app_pages.ui.replies import await_judge
from personalab import PersonaLabError
from personalab.replies.attribution import Source, attribute, word_diff
from personalab.stage.columns import stream_columns
from personalab.stage.record import ReplyRecord
from personalab.stage.votes import Vote, VoteBook, win_rates
from personalab.text.safe import safe_markdown

TITLES = {
    "generic": "Generic: no persona, no memory",
    "persona": "Persona only",
    "memory": "Memory only",
    "personalized": "Personalized: persona + memory",
}
LETTERS = "ABCD"
CURSOR = " ▌"


def run_round(
    engine, user: str, session: str, message: str, columns: list[tuple], blind: bool = False
) -> dict | None:
    """Answer message in every column (persona, kind) at once, or queued for a local model.

    One recall serves all the columns of a persona; each persona's exchange is stored once.
    In a blind vote the columns come in a random order, unlabelled. Returns the finished
    round, or None (with the reason shown) when nothing could start.
    """
    try:
        answered = engine.answer_columns(user, message, session, columns)
    except PersonaLabError as exc:
        st.error(f"No reply: {plain(str(exc))}", icon=":material/error:")
        return None
    replies = [reply for _, reply in answered]
    meta = [{"persona": p.id, "persona_name": p.name} for p, _ in answered]
    several = len({p.id for p, _ in answered}) > 1
    if blind:
        shuffled = random.sample(range(len(replies)), len(replies))
        replies, meta = [replies[i] for i in shuffled], [meta[i] for i in shuffled]
    titles = [
        f"Answer {LETTERS[n]}" if blind else _title(reply.plan.kind.value, info, several)
        for n, (reply, info) in enumerate(zip(replies, meta, strict=True))
    ]
    finished = stream_replies(engine, replies, titles, meta, footers=not blind)
    if not finished:
        return None
    return {"message": message, "columns": finished, "voted": None}


def stream_replies(
    engine, replies: list, titles: list[str], meta: list[dict], footers: bool = True
) -> list[dict]:
    """Stream replies side by side under their titles; the finished ones' data (with meta),
    each failure shown in its own column."""
    boxes = st.columns(len(replies), border=True)
    bodies = []
    for box, title in zip(boxes, titles, strict=True):
        with box:
            st.markdown(f"**{title}**")
            bodies.append(st.empty())
    texts = [""] * len(replies)
    errors: dict[int, str] = {}
    for event in stream_columns(replies, getattr(engine.backend, "concurrent", False)):
        body = bodies[event.column]
        if event.kind == "waiting":
            body.caption(":material/hourglass_top: Waiting for the model…")
        elif event.kind == "in_line":
            body.info(f"Waiting for the model: {event.text}.", icon=":material/hourglass_top:")
        elif event.kind == "started":
            body.caption(":material/more_horiz: Thinking…")
        elif event.kind == "chunk":
            texts[event.column] += event.text
            body.markdown(safe_markdown(texts[event.column]) + CURSOR)
        elif event.kind == "error":
            errors[event.column] = event.text
            body.error(f"No reply: {event.text}", icon=":material/error:")
    await_judge([r for i, r in enumerate(replies) if i not in errors])
    finished = []
    for i, (reply, info) in enumerate(zip(replies, meta, strict=True)):
        if i in errors:
            continue
        if reply.saved is not None and reply.saved.pending is not None:
            reply.saved.wait(20)
        data = reply.to_json() | info
        bodies[i].markdown(safe_markdown(reply.text))
        if footers:
            with boxes[i]:
                _footer(data)
        finished.append(data)
    return finished


def _title(kind: str, info: dict, grid: bool) -> str:
    return plain(info["persona_name"]) if grid else TITLES.get(kind, kind)


def _footer(data: dict) -> None:
    reply = ReplyRecord.of(data)
    st.caption(plain(reply_caption(reply)))
    if reply.kind == "generic":
        show_checks(reply)
    else:
        show_details(reply, caption=False)


def show_round(round_: dict, key: str, blind: bool, grid: bool) -> None:
    """A finished round: its columns (unlabelled in a blind vote until the vote is cast)."""
    hidden = blind and round_.get("voted") is None
    shown = round_["columns"]
    for box, (n, data) in zip(st.columns(len(shown), border=True), enumerate(shown), strict=True):
        reply = ReplyRecord.of(data)
        with box:
            if hidden:
                st.markdown(f"**Answer {LETTERS[n]}**")
                st.markdown(safe_markdown(reply.text))
            else:
                title = plain(reply.persona_name) if grid else TITLES.get(reply.kind, reply.kind)
                st.markdown(f"**{title}**")
                st.markdown(safe_markdown(reply.text))
                _footer(reply)
    if blind:
        vote_bar(round_, key, shown)


def vote_bar(round_: dict, key: str, shown: list[dict]) -> None:
    """Buttons for the audience: which answer fits the person better (or tie, both bad)."""
    if round_.get("voted") is not None:
        winner = round_["voted"]
        label = TITLES.get(winner, winner.replace("_", " "))
        st.success(f"Voted: {plain(label)}. Labels revealed.", icon=":material/how_to_vote:")
        return
    st.write("Which answer fits this person better?")
    choices = [(f"Answer {LETTERS[i]}", ReplyRecord.of(d).kind) for i, d in enumerate(shown)]
    choices += [("Tie", "tie"), ("Both bad", "both_bad")]
    with st.container(horizontal=True):
        for label, winner in choices:
            if st.button(label, key=f"{key}_vote_{winner}"):
                _cast(round_, shown, winner)
                st.rerun()


def _cast(round_: dict, shown: list[dict], winner: str) -> None:
    settings = resources.settings()
    vote = Vote(
        persona=ReplyRecord.of(shown[0]).persona,
        model=ReplyRecord.of(shown[0]).model,
        shown=tuple(ReplyRecord.of(d).kind for d in shown),
        winner=winner,
    )
    try:
        VoteBook(resources.store(settings)).add(vote)
    except PersonaLabError as exc:
        st.error(f"The vote was not saved: {plain(str(exc))}")
    round_["voted"] = winner
    round_.setdefault("votes", []).append(vote.to_json())


def vote_tally(settings, persona_id: str | None = None) -> None:
    """The blind votes so far as win rates with 95 % Wilson intervals (one persona, or all)."""
    try:
        votes = VoteBook(resources.store(settings)).all()
    except PersonaLabError as exc:
        st.error(f"The votes could not be read: {plain(str(exc))}")
        return
    rates = [r for r in win_rates(votes) if persona_id in (None, r.persona)]
    if not rates:
        st.caption("No blind votes yet: turn on *Blind vote* on Compare and vote.")
        return
    rows = []
    for r in rates:
        low, high = r.interval
        rows.append({"persona": r.persona, "answer": TITLES.get(r.kind, r.kind), "model": r.model,
                     "wins": r.wins, "votes": r.games, "win rate": f"{r.rate:.0%}",
                     "95 % interval": f"{low:.0%}-{high:.0%}"})  # fmt: skip
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("A tie or *both bad* counts as a vote for each answer shown, and a win for none.")


def what_changed(round_: dict) -> None:
    """The generic and the personalized answer side by side, differences marked."""
    by_kind = {r.kind: r for r in map(ReplyRecord.of, round_["columns"])}
    if "generic" not in by_kind or len(by_kind) < 2:
        return
    other = by_kind.get("personalized") or next(c for k, c in by_kind.items() if k != "generic")
    runs = word_diff(by_kind["generic"].text, other.text)
    left, right = st.columns(2)
    left.markdown("**Generic**, words the other answer drops struck through")
    left.markdown(" ".join(_mark(op, words, "removed") for op, words in runs if op != "added"))
    right.markdown(f"**{TITLES.get(other.kind, other.kind)}**, new words marked")
    right.markdown(" ".join(_mark(op, words, "added") for op, words in runs if op != "removed"))


def _mark(op: str, words: str, changed: str) -> str:
    text = plain(words)
    if op != changed:
        return text
    return f"~~{text}~~" if changed == "removed" else f":orange-background[{text}]"


@st.cache_data(max_entries=256, show_spinner=False)
def _attributed(text: str, sources: tuple[tuple[str, str], ...], model: str, _embedder):
    """Computed once per answer, not on every rerun (the expander's body runs when closed)."""
    return attribute(text, [Source(label, value) for label, value in sources], _embedder)


def attribution(round_: dict, embedder) -> None:
    """Sentences of the personalized answer that draw on a persona field, fact or memory."""
    replies = map(ReplyRecord.of, round_["columns"])
    column = next((r for r in replies if r.kind == "personalized"), None)
    if column is None:
        return
    prompt = column.prompt
    sources = [(f.field, f.value) for f in prompt.persona_fields]
    sources += [("fact", f.memory.text) for f in prompt.facts]
    sources += [("memory", m.memory.text) for m in prompt.memories]
    for item in _attributed(column.text, tuple(sources), embedder.name, embedder):
        if item.source is None:
            st.markdown(plain(item.sentence))
        else:
            st.markdown(
                f":blue-background[{plain(item.sentence)}]  \n"
                f":gray[↳ {plain(item.source.label)}: {plain(item.source.text[:140])} "
                f"({item.similarity:.2f})]"
            )
