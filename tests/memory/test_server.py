"""A Chroma server shared by several processes: token auth, recall across processes, faults."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from personalab import Engine, MemoryStoreError, NewMemory, Persona
from personalab.memory.chroma import collection_name, open_server
from tests.conftest import CHROMA_TOKEN


def unique_user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"  # the server lives for the whole run


def two_turns(server_store):
    user = unique_user()
    said = ("I am allergic to peanuts", "Globex pays late")
    kept, other = server_store.remember(user, "coach", [NewMemory(t, "user", "s") for t in said])
    return user, kept, other


@pytest.mark.slow
def test_a_turn_on_the_server_is_found_by_meaning(server_store):
    """A turn stored on the server is the nearest to a question that means the same."""
    user, kept, _ = two_turns(server_store)
    vector = server_store.embedder.embed_one("peanut allergy")
    assert server_store.dense(user, "coach", vector, 1)[0][0] == kept.id


@pytest.mark.slow
def test_a_turn_deleted_on_the_server_is_not_found_by_keyword(server_store):
    """After a delete, the keyword index no longer finds the deleted turn."""
    user, _, other = two_turns(server_store)
    assert server_store.scope(user, "coach").keyword.search("Globex", 5)
    server_store.delete(user, "coach", [other.id])
    assert server_store.scope(user, "coach").keyword.search("Globex", 5) == []


@pytest.mark.slow
def test_another_user_on_the_server_sees_nothing(server_store):
    """Memories on the server belong to their user: another user's list is empty."""
    two_turns(server_store)
    assert server_store.list(unique_user(), "coach") == []


@pytest.mark.slow
def test_a_memory_written_by_another_process_is_recalled_on_the_next_turn(
    server_store, chroma_server, settings
):
    """Two processes on one server: what one writes, the other recalls by meaning and by
    keyword on its next turn, though its mirror of the scope was loaded before."""
    from personalab.memory.marks import RECHECK_S

    user = unique_user()
    persona = Persona(name="P")
    persona.set_id("lena-vegan-marathoner")
    engine = Engine(server_store, None, settings)
    engine.remember(user, persona.id, [NewMemory("I like tea.", "user", "s")])
    assert (
        engine.recall(user, persona, "Zanzibar trip", "now").episodes[0].memory.text
        == "I like tea."
    )
    env = dict(
        os.environ, PERSONALAB_CHROMA_URL=chroma_server, PERSONALAB_CHROMA_TOKEN=CHROMA_TOKEN
    )
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "personalab",
            "memory",
            "add",
            "--user",
            user,
            "--persona",
            persona.id,
            "We booked the Zanzibar ferry for the 14th.",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert added.returncode == 0, added.stderr
    time.sleep(RECHECK_S)
    by_keyword = engine.recall(user, persona, "Zanzibar", "now")
    assert by_keyword.episodes[0].memory.text.startswith("We booked the Zanzibar ferry")
    assert by_keyword.episodes[0].keyword > 0
    by_meaning = engine.recall(user, persona, "When does our boat to the island leave?", "now")
    assert by_meaning.episodes[0].memory.text.startswith("We booked the Zanzibar ferry")


@pytest.mark.slow
def test_a_wrong_token_and_a_stopped_server_get_clear_messages(chroma_server):
    """A rejected token and a server that is not running each say what to check."""
    with pytest.raises(MemoryStoreError, match="refused the token.*PERSONALAB_CHROMA_TOKEN"):
        open_server(chroma_server, "wrong-token")
    from personalab.evaluation.serving import free_port

    with pytest.raises(MemoryStoreError, match="cannot reach the Chroma server.*is it running"):
        open_server(f"http://127.0.0.1:{free_port()}", CHROMA_TOKEN)


@pytest.mark.slow
def test_the_cli_reports_a_stopped_server_in_one_line():
    """`memory list` against a server that is down exits 1 with the reason, no traceback."""
    from personalab.evaluation.serving import free_port

    env = dict(os.environ, PERSONALAB_CHROMA_URL=f"http://127.0.0.1:{free_port()}")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "personalab",
            "memory",
            "list",
            "--persona",
            "lena-vegan-marathoner",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert out.returncode == 1 and "cannot reach the Chroma server" in out.stderr
    assert "Traceback" not in out.stderr and json.loads(out.stdout or "null") is None


@pytest.mark.slow
def test_a_turn_and_the_facts_it_states_leave_one_revision(server_store, settings, monkeypatch):
    """A chat turn that states a fact is one change for the other processes: one revision
    write to the server (not one per stored record), and it is written."""
    user = unique_user()
    engine = Engine(server_store, None, settings.replace(fact_extraction="rules"))
    engine.remember(user, "p", [NewMemory("Hello there.", "user", "s")])
    name = collection_name(user, "p")
    before = server_store.marks_book.get(name, "revision")
    writes, original = [], server_store.marks_book.set

    def counted(scope: str, mark: str, value) -> None:
        writes.append(mark)
        original(scope, mark, value)

    monkeypatch.setattr(server_store.marks_book, "set", counted)
    saved = engine.remember(
        user, "p", [NewMemory("I'm allergic to peanuts. I live in Ghent.", "user", "s")]
    )
    assert len(saved.facts) == 2  # the turn and two facts: three records written
    assert writes == ["revision"]
    assert server_store.marks_book.get(name, "revision") not in (None, before)


@pytest.mark.slow
def test_a_chroma_server_killed_mid_session_loses_nothing_acknowledged(
    tmp_path, embedder, settings
):
    """The Chroma server is killed (SIGKILL) after one exchange: the next message is refused
    with a message naming the server, before the model is asked; once the server is back on
    the same data, the first exchange is all there."""
    from personalab.evaluation.serving import chroma_server
    from personalab.memory.store import MemoryStore
    from personalab.personas.library import PersonaLibrary
    from tests.conftest import ROOT
    from tests.helpers import ScriptedBackend

    lena = PersonaLibrary(ROOT / "personas").get("lena-vegan-marathoner")
    rules = settings.replace(guard="off", fact_extraction="rules")
    with chroma_server(tmp_path / "data", CHROMA_TOKEN) as (url, server):
        store = MemoryStore(open_server(url, CHROMA_TOKEN), embedder, shared=True)
        engine = Engine(store, ScriptedBackend(["Lentil soup."], ["Oat porridge."]), rules)
        first = engine.reply("ana", lena, "What should I eat tonight?", "s")
        assert first.read() == "Lentil soup." and first.memory_error is None
        server.kill()
        server.wait()
        with pytest.raises(MemoryStoreError, match="Chroma server cannot be reached; is it run"):
            engine.reply("ana", lena, "And for breakfast?", "s")  # the pages keep the message
    port = int(url.rsplit(":", 1)[1])
    with chroma_server(tmp_path / "data", CHROMA_TOKEN, port) as (url, _):  # the same data
        again = MemoryStore(open_server(url, CHROMA_TOKEN), embedder, shared=True)
        turns = [m.text for m in again.list("ana", lena.id, kind="turn")]
        assert turns[:2] == ["What should I eat tonight?", "Lentil soup."]
