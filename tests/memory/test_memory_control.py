"""Memory people can see and steer: edits with history, private items, export/import round trips."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from personalab import (
    ColumnKind,
    Engine,
    MemoryStoreError,
    NewMemory,
    OpenAIBackend,
    PersonaLibrary,
)
from personalab.records import parse_export
from tests.conftest import LIBRARY, ROOT
from tests.conftest import run_cli as cli

PERSONA = "lena-vegan-marathoner"


def test_private_memories_never_reach_a_model_off_this_machine(store, settings):
    """A private fact and turn are used by a local model and held back from a remote one."""
    lena = PersonaLibrary(LIBRARY).get(PERSONA)
    engine = Engine(store, None, settings)
    saved = engine.remember("ana", PERSONA, [NewMemory("I'm allergic to peanuts.", "user", "s")])
    store.set_private("ana", PERSONA, [saved.turns[0].id, saved.facts[0].fact.id], True)
    remote = Engine(
        store, OpenAIBackend("m", api_key="k", base_url="https://api.example.com/v1"), settings
    )
    question = "Which nuts can I snack on?"
    far = remote.plan(
        ColumnKind.PERSONALIZED, question, lena, remote.recall("ana", lena, question, "x")
    )
    near = engine.plan(
        ColumnKind.PERSONALIZED, question, lena, engine.recall("ana", lena, question, "x")
    )
    assert "peanuts" not in json.dumps([m.content for m in far.messages])
    assert far.held_back == 2 and far.to_json()["held_back"] == 2
    assert "peanuts" in near.messages[0].content and near.held_back == 0


def test_private_facts_stay_off_a_remote_guard_and_judge(store, settings, offline_backend):
    """A retry's reminder and the judge's briefing name a private fact only to a model on this
    machine; a shareable one goes to both."""
    from personalab import Judge

    lena = PersonaLibrary(LIBRARY).get(PERSONA)
    rules = settings.replace(guard="on", fact_extraction="rules")
    remote = OpenAIBackend("m", api_key="k", base_url="https://api.example.com/v1")
    far = Engine(store, remote, rules, judge=Judge(remote))
    near = Engine(store, offline_backend, rules, judge=Judge(offline_backend))
    saved = far.remember("ana", PERSONA, [NewMemory("I'm allergic to peanuts.", "user", "s")])

    def told(engine: Engine) -> str:  # built, not streamed: nothing is sent here
        reply = engine.reply("ana", lena, "Which nuts can I snack on?", "x")
        return json.dumps([c.constraint for c in reply.guard_checks] + reply.judge_facts())

    assert "peanuts" in told(far)
    store.set_private("ana", PERSONA, [saved.turns[0].id, saved.facts[0].fact.id], True)
    assert "peanuts" not in told(far) and "peanuts" in told(near)


def test_a_judge_elsewhere_deciding_a_win_rate_is_never_told_a_private_fact(
    store, settings, offline_backend
):
    """Win rates with a judge on a server, replies by the model on this machine: the judge is
    asked about the user's shareable facts, never a private one, though the reply used it."""
    from types import SimpleNamespace

    from personalab import Judge
    from personalab.evaluation.harness import _outcome

    class RemoteJudge:
        name, is_local = "judge @ https://api.example.com/v1", False
        told: list[str] = []

        def first_token_odds(self, messages, choices):
            self.told.append(messages[-1].content)
            return {"A": 0.5, "B": 0.5}

    lena = PersonaLibrary(LIBRARY).get(PERSONA)
    near = Engine(store, offline_backend, settings.replace(fact_extraction="rules"))
    said = ["I'm allergic to peanuts.", "I play the cello in an orchestra."]
    saved = [near.remember("ana", PERSONA, [NewMemory(t, "user", "s")]) for t in said]
    store.set_private("ana", PERSONA, [saved[0].turns[0].id, saved[0].facts[0].fact.id], True)
    question = "Which snacks should I take to rehearsal?"
    kinds = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
    generic, personal = near.compare("ana", lena, question, "x", kinds, False)
    assert "peanuts" in json.dumps([f.memory.text for f in personal.plan.facts])
    judge = RemoteJudge()
    _outcome(SimpleNamespace(judge=Judge(judge)), question, generic, personal)
    assert len(judge.told) == 2 and all("cello" in t for t in judge.told)
    assert not any("peanuts" in t for t in judge.told)


def test_a_pinned_fact_goes_into_every_prompt_and_survives_a_restart(store, settings):
    """With a fact budget for about one fact, the least relevant fact reaches the prompt once
    pinned, is still pinned in a new store on the folder, ranks by relevance once unpinned, and
    stays pinned when a later turn changes it; a turn cannot be pinned."""
    engine = Engine(store, None, settings.replace(fact_token_budget=14))
    said = ["I'm allergic to peanuts.", "I play the cello in an orchestra.", "I live in Leeds."]
    saved = [engine.remember("ana", PERSONA, [NewMemory(t, "user", "s")]) for t in said]
    lena = PersonaLibrary(LIBRARY).get(PERSONA)
    question = "Which nuts can I snack on?"

    def in_prompt(engine: Engine) -> list[str]:
        plan = engine.plan(
            ColumnKind.MEMORY, question, lena, engine.recall("ana", lena, question, "x")
        )
        return [f.memory.text for f in plan.facts]

    assert in_prompt(engine) == ["I'm allergic to peanuts."]
    leeds = saved[2].facts[0].fact.id
    assert store.set_pinned("ana", PERSONA, [leeds, saved[0].turns[0].id], True) == 1
    assert in_prompt(engine) == ["I live in Leeds."]
    reread = store.stored("ana", PERSONA)  # as a restart reads them back
    assert [m.text for m in reread if m.pinned] == ["I live in Leeds."]
    store.set_pinned("ana", PERSONA, [leeds], False)
    assert in_prompt(engine) == ["I'm allergic to peanuts."]
    store.set_pinned("ana", PERSONA, [leeds], True)  # a pin outlives a change of home
    engine.remember("ana", PERSONA, [NewMemory("I moved to York.", "user", "s")])
    assert store.get("ana", PERSONA, leeds).text == "I moved to York."
    assert store.get("ana", PERSONA, leeds).pinned


def test_a_slow_fact_update_never_undoes_what_the_user_did_meanwhile(store, settings):
    """An LLM's update or delete is decided on the fact as it was read, seconds earlier: it
    keeps a pin and privacy set meanwhile, and is dropped if the user reworded or deleted it."""
    engine = Engine(store, None, settings.replace(fact_extraction="rules"))
    saved = engine.remember("ana", "p", [NewMemory("I live in Leeds.", "user", "s")])
    seen, book = saved.facts[0].fact, engine.factbook  # what the model was shown
    store.set_pinned("ana", "p", [seen.id], True)
    store.set_private("ana", "p", [seen.id], True)
    change = book.revise("ana", "p", seen, "I live in Leeds, UK.", "restated")
    assert change.fact.text == "I live in Leeds, UK." and change.fact.pinned and change.fact.private
    seen = store.get("ana", "p", seen.id)
    store.edit("ana", "p", seen.id, "I live in Manchester.")
    assert book.revise("ana", "p", seen, "I live in Leeds.", "restated") is None
    assert book.remove("ana", "p", seen) is None
    assert store.get("ana", "p", seen.id).text == "I live in Manchester."
    seen = store.get("ana", "p", seen.id)
    store.delete("ana", "p", [seen.id])
    assert book.revise("ana", "p", seen, "I live in York.", "changed") is None
    assert store.list("ana", "p", kind="fact") == []


def test_an_edit_is_embedded_again_and_keeps_its_history(store):
    """Editing changes what recall finds, and the old words stay in the memory's history."""
    (memory,) = store.remember("ana", "p", [NewMemory("My gym is Basecamp.", "user", "s")])
    edited = store.edit("ana", "p", memory.id, "My gym is Urban Apes.")
    assert [r.text for r in edited.history] == ["My gym is Basecamp."]
    assert edited.history[0].change == "edited" and edited.id == memory.id
    with pytest.raises(MemoryStoreError, match="cannot be empty"):
        store.edit("ana", "p", memory.id, "   ")


def test_export_then_import_is_lossless(store, settings):
    """Everything exported (privacy and a fact's history too) comes back identical after
    forgetting."""
    engine = Engine(store, None, settings)
    engine.remember(
        "ana",
        "p",
        [NewMemory("I live in Leeds.", "user", "s1"), NewMemory("Noted!", "assistant", "s1")],
    )
    engine.remember("ana", "p", [NewMemory("I moved to York.", "user", "s2")])  # a fact's history
    store.set_private("ana", "p", [store.list("ana", "p")[0].id], True)
    lines = list(store.export_jsonl("ana", "p"))
    before = [json.loads(line) for line in lines]
    store.forget_all("ana", "p")
    store.restore("ana", "p", parse_export(lines))
    after = [json.loads(line) for line in store.export_jsonl("ana", "p")]
    assert after == before


def test_an_import_with_bad_lines_names_each_and_takes_none(store, settings):
    """A bad role and a line that is not JSON are both named; nothing is parsed for import."""
    Engine(store, None, settings).remember("ana", "p", [NewMemory("I live in Leeds.", "user", "s")])
    line = next(store.export_jsonl("ana", "p"))
    bad = line.replace('"role": "user"', '"role": "narrator"')
    with pytest.raises(MemoryStoreError, match=r"line 2: .*role.*line 3: not JSON"):
        parse_export([line, bad, "{oops"])


@pytest.mark.slow
def test_memory_commands_search_edit_history_forget_and_import(isolated_env):
    """The CLI edits (with history), searches, forgets only with --yes, and imports exports."""
    assert cli("memory", "add", "--persona", PERSONA, "I live in Leeds.").returncode == 0
    assert cli("memory", "add", "--persona", PERSONA, "I moved to York last month.").returncode == 0
    facts = json.loads(
        cli("memory", "list", "--persona", PERSONA, "--kind", "fact", "--json").stdout
    )
    assert [f["text"] for f in facts] == ["I moved to York last month."]
    history = json.loads(
        cli("memory", "history", "--persona", PERSONA, facts[0]["id"][:8], "--json").stdout
    )
    assert [h["text"] for h in history] == ["I live in Leeds.", "I moved to York last month."]
    found = json.loads(
        cli("memory", "search", "--persona", PERSONA, "Where is home?", "--json").stdout
    )
    assert found[0]["memory"]["text"] == "I moved to York last month."
    edited = cli(
        "memory",
        "edit",
        "--persona",
        PERSONA,
        facts[0]["id"][:8],
        "I moved to Hull.",
        "--private",
        "--pin",
        "--json",
    )
    assert edited.returncode == 0 and json.loads(edited.stdout)["private"] is True
    assert json.loads(edited.stdout)["pinned"] is True  # and the export below keeps it
    turns = cli("memory", "list", "--persona", PERSONA, "--kind", "turn", "--json").stdout
    refused = cli("memory", "edit", "--persona", PERSONA, json.loads(turns)[0]["id"], "--pin")
    assert refused.returncode == 1 and "only a fact can be pinned" in refused.stderr
    exported = cli("memory", "export", "--persona", PERSONA).stdout
    refused = cli("memory", "forget", "--persona", PERSONA)  # no terminal to ask: refused
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert cli("memory", "forget", "--persona", PERSONA, "--yes").returncode == 0
    assert json.loads(cli("memory", "list", "--persona", PERSONA, "--json").stdout) == []
    path = isolated_env / "memories.jsonl"
    path.write_text(exported)
    imported = cli("memory", "import", "--persona", PERSONA, str(path))
    assert imported.returncode == 0 and "imported 3 memories" in imported.stderr
    assert cli("memory", "export", "--persona", PERSONA).stdout == exported


def app(user: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if user:
        at.query_params["u"] = user
    at.run()
    at.selectbox(key="persona_id").set_value("ananya-olympiad-student").run()
    return at


@pytest.mark.slow
def test_each_browser_session_gets_its_own_private_memory(monkeypatch):
    """With no user named by the deployment, two sessions get different private ids and never
    see each other's memories; the first one's link brings its memories back."""
    monkeypatch.delenv("PERSONALAB_USER")
    first, second = app(), app()
    a, b = first.session_state["user"], second.session_state["user"]
    assert a.startswith("guest-") and b.startswith("guest-") and a != b
    first.chat_input(key="chat_message").set_value("I am allergic to peanuts.").run()
    second.chat_input(key="chat_message").set_value("Can I eat peanut chikki?").run()
    details = second.chat_message[-1].expander[0]
    assert "0 facts" in details.label and "peanuts" not in json.dumps(
        [d.value.to_dict() for d in details.dataframe]
    )
    again = app(user=a)  # the link of the first session
    again.switch_page("app_pages/memory.py").run()
    assert again.metric[0].value == "1"


@pytest.mark.slow
def test_dont_remember_keeps_the_conversation_out_of_memory():
    """With the toggle on, a reply comes but nothing is stored."""
    at = app()
    at.toggle[0].set_value(True).run()
    at.chat_input(key="chat_message").set_value("I am allergic to peanuts.").run()
    assert at.chat_message[-1].markdown[0].value.strip()
    at.switch_page("app_pages/memory.py").run()
    assert any("Nothing is stored yet" in i.value for i in at.info)


def facts_on_the_memory_page() -> tuple[AppTest, str]:
    """The Memory page filtered to facts, after "I love chess." was said; the fact's id."""
    at = app()
    from app_pages.ui import resources

    engine = resources.memory_engine(resources.settings())
    user = at.session_state["user"]
    engine.remember(user, "ananya-olympiad-student", [NewMemory("I love chess.", "user", "s")])
    at.switch_page("app_pages/memory.py").run()
    at.selectbox(key="mem_kind").set_value("fact").run()
    return at, at.dataframe[0].value["id"].iloc[0]


@pytest.mark.slow
def test_the_kind_filter_narrows_the_memory_table():
    """Memory: filtered to facts, the table lists the fact and not the turn it came from."""
    at, _ = facts_on_the_memory_page()
    table = at.dataframe[0].value
    assert list(table["text"]) == ["I love chess."] and set(table["kind"]) == {"fact"}


@pytest.mark.slow
def test_an_edit_on_the_memory_page_is_saved():
    """Memory: a selected fact's new words are saved and listed."""
    at, fact = facts_on_the_memory_page()
    at.multiselect[0].set_value([fact]).run()
    at.text_area(key=f"edit_{fact}").set_value("I love go.").run()
    next(b for b in at.button if b.label == "Save the edit").click().run()
    assert list(at.dataframe[0].value["text"]) == ["I love go."]


@pytest.mark.slow
def test_make_private_marks_the_memory_and_counts_it():
    """Memory: Make private marks the selected fact and the private count shows it."""
    at, fact = facts_on_the_memory_page()
    at.multiselect[0].set_value([fact]).run()
    next(b for b in at.button if b.label == "Make private").click().run()
    assert list(at.dataframe[0].value["private"]) == [True] and at.metric[2].value == "1"


@pytest.mark.slow
def test_pin_marks_the_fact_and_counts_it():
    """Memory: Pin marks the selected fact and the pinned count shows it."""
    at, fact = facts_on_the_memory_page()
    at.multiselect[0].set_value([fact]).run()
    next(b for b in at.button if b.label == "Pin").click().run()
    assert list(at.dataframe[0].value["pinned"]) == [True] and at.metric[3].value == "1"


def test_concurrent_users_never_see_each_others_memories(store, settings):
    """Eight users write and recall at once; each finds only their own allergy, though the
    others' would match the question better than anything of their own."""
    from concurrent.futures import ThreadPoolExecutor

    foods = ["peanuts", "shellfish", "sesame", "eggs", "milk", "wheat", "soy", "kiwi"]
    engine = Engine(store, None, settings)
    lena = PersonaLibrary(LIBRARY).get(PERSONA)

    def one(i: int) -> list[str]:
        user = f"user-{i}"
        engine.remember(user, PERSONA, [NewMemory(f"I am allergic to {foods[i]}.", "user", "s")])
        recalled = engine.recall(user, lena, "Which allergy do I have?", "q")
        return [m.memory.text for m in recalled.facts + recalled.episodes]

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(one, range(8)))
    for i, texts in enumerate(found):
        assert texts and all(foods[i] in t for t in texts), (i, texts)
