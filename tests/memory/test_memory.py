"""MemoryStore on real Chroma with the real embedder: scoping, search, delete, export, faults."""

import json
from contextlib import closing

import pytest

from personalab import MemoryStore, MemoryStoreError, NewMemory, open_client
from tests.helpers import DiskClient, after_restart


def say(store, user, persona, *texts, session="s1"):
    return store.remember(user, persona, [NewMemory(t, "user", session) for t in texts])


def nearest(store, user, persona, text, n=3):
    vector = store.embedder.embed_one(text)
    return [(store.get(user, persona, i), s) for i, s in store.dense(user, persona, vector, n)]


def test_related_memory_is_found_first(store):
    """A question about food finds the allergy first, by meaning and by keyword."""
    say(store, "ana", "coach", "I am allergic to peanuts", "My bike is red", "I live in Leeds")
    hits = nearest(store, "ana", "coach", "Can I eat peanut butter cookies?")
    assert hits[0][0].text == "I am allergic to peanuts" and hits[0][1] > hits[1][1]
    assert hits[0][0].role == "user" and hits[0][0].session == "s1"
    keyword = store.scope("ana", "coach").keyword.search("peanut cookies", 3)
    assert [store.get("ana", "coach", i).text for i, _ in keyword] == ["I am allergic to peanuts"]


def test_memories_are_isolated_per_user_and_per_persona(store):
    """Another user, or the same user with another persona, never sees these memories."""
    say(store, "ana", "coach", "I am allergic to peanuts")
    assert nearest(store, "bob", "coach", "peanuts") == []
    assert nearest(store, "ana", "teacher", "peanuts") == []
    assert store.scope("bob", "coach").keyword.search("peanuts", 5) == []
    assert store.list("bob", "coach") == [] and store.count("ana", "coach") == 1


def test_list_is_oldest_first(store):
    """Listing returns turns in the order they were said."""
    say(store, "ana", "coach", "first", "second", session="a")
    say(store, "ana", "coach", "third", session="b")
    assert [m.text for m in store.list("ana", "coach")] == ["first", "second", "third"]


def test_a_session_filter_narrows_the_list(store):
    """Listing one session gives that session's turns only."""
    say(store, "ana", "coach", "first", "second", session="a")
    say(store, "ana", "coach", "third", session="b")
    assert [m.text for m in store.list("ana", "coach", session="b")] == ["third"]


def test_a_deleted_memory_is_gone(store):
    """A deleted memory is neither listed nor kept in Chroma."""
    kept, dropped = say(store, "ana", "coach", "keep me", "drop me")
    store.delete("ana", "coach", [dropped.id])
    assert [m.id for m in store.list("ana", "coach")] == [kept.id]
    assert [m.id for m in store.stored("ana", "coach")] == [kept.id]


def test_export_is_one_json_object_a_line(store):
    """Each memory exports as one JSON line with its text and an ISO time."""
    say(store, "ana", "coach", "keep me", "and me")
    lines = list(store.export_jsonl("ana", "coach"))
    assert [json.loads(line)["text"] for line in lines] == ["keep me", "and me"]
    assert json.loads(lines[0])["when"].startswith("20")


def test_forget_all_empties_the_scope(store):
    """After forget_all the scope lists nothing, and nothing is left in Chroma."""
    say(store, "ana", "coach", "keep me", "drop me")
    store.forget_all("ana", "coach")
    assert store.list("ana", "coach") == [] and store.stored("ana", "coach") == []


def test_secrets_never_reach_memory(store):
    """An API key typed into a chat is redacted before it is stored."""
    say(store, "ana", "coach", "my key is sk-proj-abcdefghijklmnop1234567890 keep it")
    text = store.list("ana", "coach")[0].text
    assert "sk-proj" not in text and "[redacted secret]" in text


def test_free_metadata_round_trips(store):
    """Extra metadata is stored and read back without clashing with built-in fields."""
    store.remember(
        "ana", "coach", [NewMemory("hi", "assistant", "s", metadata={"model": "m", "role": "x"})]
    )
    m = store.list("ana", "coach")[0]
    assert m.role == "assistant" and m.metadata == {"model": "m", "role": "x"}


@pytest.mark.slow
def test_memories_survive_reopening_the_folder(tmp_path, embedder):
    """What one process wrote is read back by a new process on the same folder."""
    import subprocess
    import sys

    folder = tmp_path / "mem"
    code = (
        "import sys; from personalab import *; "
        f"s = MemoryStore(open_client({str(folder)!r}), Embedder()); "
        "s.remember('ana', 'coach', [NewMemory('I am allergic to peanuts', 'user', 's')])"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    import sqlite3

    with closing(sqlite3.connect(folder / "chroma.sqlite3")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # one fsync a write
        db.execute("PRAGMA journal_mode=DELETE")  # as a folder from an older version is
    store = MemoryStore(open_client(folder), embedder)
    assert nearest(store, "ana", "coach", "peanut allergy", 1)[0][0].text == (
        "I am allergic to peanuts"
    )
    say(store, "ana", "coach", "I moved to Lisbon")
    with closing(sqlite3.connect(folder / "chroma.sqlite3")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert len(store.list("ana", "coach")) == 2


def test_opening_a_folder_again_in_the_process_never_damages_it(tmp_path, embedder):
    """A second store on a folder this process already has open (the app makes one when the
    embedder setting changes) leaves the SQLite file alone while the first one writes: a
    second SQLite library closing the file would drop Chroma's locks and damage it."""
    import threading

    folder = tmp_path / "mem"
    first = MemoryStore(open_client(folder), embedder)
    errors: list[str] = []
    done = threading.Event()

    def write() -> None:
        i = 0
        while not done.is_set() and len(errors) < 3:
            try:
                (memory,) = say(first, "ana", "coach", f"I like thing number {i}")
                first.set_private("ana", "coach", [memory.id], i % 2 == 0)
            except MemoryStoreError as exc:
                errors.append(str(exc))
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(100):
            MemoryStore(open_client(folder), embedder)
    finally:
        done.set()
        writer.join()
    assert errors == []
    assert len(first.list("ana", "coach")) > 0


@pytest.mark.slow
def test_the_keyword_index_survives_a_restart_and_a_delete(tmp_path, embedder):
    """A new process finds turns by keyword; a deleted turn is never found again, there either."""
    folder = tmp_path / "mem"
    first = MemoryStore(open_client(folder), embedder)
    kept, dropped = say(first, "ana", "coach", "The Acme invoice is paid", "Globex pays late")
    first.delete("ana", "coach", [dropped.id])
    assert first.scope("ana", "coach").keyword.search("Globex", 5) == []
    searched = "[[i for i, _ in k.search(q, 5)] for q in ('Acme', 'Globex')]"
    found = after_restart(folder, f"k = s.scope('ana', 'coach').keyword\n{searched}")
    assert found == [[kept.id], []]


def test_an_edit_is_found_by_its_new_words_only(store):
    """Replacing a memory's text re-indexes it: the new words find it, the old ones do not."""
    (memory,) = say(store, "ana", "coach", "My gym is Basecamp Climbing")
    store.replace("ana", "coach", memory.evolve(text="My gym is Urban Apes"))
    keyword = store.scope("ana", "coach").keyword
    assert [i for i, _ in keyword.search("urban apes", 5)] == [memory.id]
    assert keyword.search("basecamp", 5) == []
    assert nearest(store, "ana", "coach", "Urban Apes gym", 1)[0][0].text == "My gym is Urban Apes"


def test_an_unusable_memory_folder_gives_a_clear_error(tmp_path):
    """A memory path that is a file names the path and the setting to change."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(MemoryStoreError, match="PERSONALAB_MEMORY_DIR"):
        open_client(blocker / "memory")


def test_a_full_disk_is_reported_plainly(tmp_path, embedder):
    """A write that fails for lack of space says so, and how to fix it."""
    store = MemoryStore(DiskClient(open_client(tmp_path / "m"), room=0), embedder)
    with pytest.raises(MemoryStoreError, match="disk is full"):
        say(store, "ana", "coach", "hello")


@pytest.mark.slow
def test_a_second_process_on_a_folder_in_use_is_refused_and_told_why(tmp_path):
    """While one process holds a memory folder, another is refused at once (not after the
    holder ends), naming the folder, the process holding it, and the two ways on."""
    import subprocess
    import sys

    folder = tmp_path / "mem"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from personalab import open_client; open_client({str(folder)!r}); "
            "print('ready', flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(MemoryStoreError) as info:
            open_client(folder)
        assert holder.poll() is None  # refused while the holder still runs: no waiting it out
        message = str(info.value)
        assert str(folder.resolve()) in message and f"process {holder.pid}" in message
        assert "Stop the other process" in message and "PERSONALAB_CHROMA_URL" in message
    finally:
        holder.kill()
        holder.wait()
    open_client(folder)  # free again once the holder is gone


def test_a_turn_and_the_facts_it_states_reach_chroma_in_one_write(tmp_path, embedder, settings):
    """A turn that states two facts is one write of three records."""
    from personalab import Engine

    disk = DiskClient(open_client(tmp_path / "m"))
    engine = Engine(MemoryStore(disk, embedder), None, settings.replace(fact_extraction="rules"))
    text = "I'm allergic to peanuts. I live in Ghent."
    saved = engine.remember("ana", "p", [NewMemory(text, "user", "s")])
    assert disk.writes == [3] and len(saved.facts) == 2


def test_a_failed_write_keeps_no_half_of_a_turn(tmp_path, embedder, settings):
    """When the write of a turn and its facts fails, the error says why and the app shows
    exactly what Chroma holds: the earlier turn, nothing of the failed one."""
    from personalab import Engine

    disk = DiskClient(open_client(tmp_path / "m"), room=1)
    store = MemoryStore(disk, embedder)
    engine = Engine(store, None, settings.replace(fact_extraction="rules"))
    engine.remember("ana", "p", [NewMemory("Hello there.", "user", "s")])
    with pytest.raises(MemoryStoreError, match="disk is full"):
        engine.remember("ana", "p", [NewMemory("I'm vegan. My dog is called Rex.", "user", "s")])
    shown = sorted(m.text for m in store.list("ana", "p"))
    assert shown == sorted(m.text for m in store.stored("ana", "p")) == ["Hello there."]


def test_a_memory_written_and_deleted_in_one_batch_is_nowhere(store):
    """A batch's held write that the same batch deletes never reaches Chroma, even when it
    would have been the scope's first."""
    with store.batch("ana", "p"):
        (kept,) = say(store, "ana", "p", "I keep bees.")
        (gone,) = say(store, "ana", "p", "Delete me.")
        store.delete("ana", "p", [gone.id])
        assert [m.text for m in store.list("ana", "p")] == ["I keep bees."]  # read in between
    assert [m.id for m in store.stored("ana", "p")] == [kept.id]
    assert [m.id for m in store.list("ana", "p")] == [kept.id]


def test_keyword_search_holds_in_more_scopes_than_writers_kept_open(store):
    """Writers stay open for the last few scopes written; a scope whose writer was closed
    still finds its old turns and takes new ones, deletes included."""
    from personalab.memory.keyword import OPEN_WRITERS

    users = [f"user{n}" for n in range(OPEN_WRITERS + 2)]
    for user in users:
        say(store, user, "p", f"My parrot {user} speaks Welsh.")
    (first, *_), last = users, users[-1]
    (later,) = say(store, first, "p", "The parrot sings opera too.")
    found = store.scope(first, "p").keyword.search("parrot", 5)
    assert {store.get(first, "p", i).text for i, _ in found} == {
        f"My parrot {first} speaks Welsh.",
        "The parrot sings opera too.",
    }
    store.delete(first, "p", [later.id])
    assert len(store.scope(first, "p").keyword.search("opera", 5)) == 0
    assert len(store.scope(last, "p").keyword.search("Welsh", 5)) == 1


def test_a_held_write_another_thread_deletes_stays_deleted(store):
    """A memory deleted (from another session's thread) while a batch holds its write is not
    written when the batch ends: it does not come back."""
    import threading

    say(store, "ana", "p", "First words.")
    with store.batch("ana", "p"):
        (held,) = say(store, "ana", "p", "Words deleted at once.")
        other = threading.Thread(target=store.delete, args=("ana", "p", [held.id]))
        other.start()
        other.join()
    assert [m.text for m in store.list("ana", "p")] == ["First words."]
    assert [m.text for m in store.stored("ana", "p")] == ["First words."]


def test_a_batch_keeps_its_scope_while_many_others_are_read(store):
    """A scope a batch is writing to stays in memory however many other scopes are read
    meanwhile, so its held write still reaches Chroma at the end."""
    from personalab.memory.store import MAX_SCOPES

    with store.batch("ana", "p"):
        (held,) = say(store, "ana", "p", "Written while others were read.")
        for n in range(MAX_SCOPES + 2):
            store.list(f"reader{n}", "p")
    assert [m.id for m in store.stored("ana", "p")] == [held.id]
    assert [m.id for m in store.list("ana", "p")] == [held.id]
