"""The command line, run as a user would: separate processes sharing a memory folder."""

import json
import os
import sqlite3
from contextlib import closing

import pytest

from personalab.evaluation.serving import free_port
from tests.conftest import run_cli as cli

pytestmark = pytest.mark.slow  # every test starts Python processes; most run the model

PERSONA = "ananya-olympiad-student"


def test_chat_json_prints_the_reply_and_the_prompt_it_answered():
    """A scripted chat prints JSON with the reply, and the prompt with the persona's reminder."""
    first = cli("chat", "--user", "u1", "--persona", PERSONA, "--json", "I am allergic to peanuts.")
    assert first.returncode == 0, first.stderr
    (only,) = json.loads(first.stdout)["columns"]
    assert only["kind"] == "personalized" and only["persona"] == PERSONA and only["text"].strip()
    assert only["prompt"]["messages"][0]["role"] == "system"
    assert "\n\nRemember: Her family is vegetarian" in only["prompt"]["messages"][0]["content"]
    assert only["prompt"]["messages"][-1]["content"].startswith("I am allergic to peanuts.\n")


def told_and_compared() -> dict:
    """A fact told in one process, then a comparison asked in another: its columns by kind."""
    told = cli("chat", "--user", "u1", "--persona", PERSONA, "I am allergic to peanuts.")
    assert told.returncode == 0, told.stderr
    args = ["chat", "--user", "u1", "--persona", PERSONA, "--compare", "--json"]
    second = cli(*args, "Can I eat a peanut chikki?")
    assert second.returncode == 0, second.stderr
    assert "started" in second.stderr and not second.stdout.lstrip().startswith("ananya")
    return {c["kind"]: c for c in json.loads(second.stdout)["columns"]}


def test_a_fact_from_an_earlier_process_enters_only_the_personalized_prompt():
    """The fact told earlier is the personalized prompt's first fact and absent from generic;
    both answers are checked against the same constraints, the fact's among them."""
    out = told_and_compared()
    assert out["generic"]["text"].strip() and out["personalized"]["text"].strip()
    for kind in ("generic", "personalized"):
        checks = out[kind]["checks"]["checks"]
        assert any("vegetarian" in c["check"]["constraint"] for c in checks)
        assert any(c["check"]["source"] == "fact" for c in checks)  # "allergic to peanuts"
    assert out["personalized"]["guard"]["attempts"] and out["generic"]["guard"] is None
    facts = out["personalized"]["prompt"]["facts"]
    assert facts[0]["memory"]["text"] == "I am allergic to peanuts."
    assert 0 < facts[0]["parts"]["similarity"] <= 1
    assert "peanuts" not in json.dumps(out["generic"]["prompt"]["messages"])


def test_memory_list_in_a_new_process_shows_the_users_turns_and_facts_only():
    """`memory list --json` lists what the chats stored for that user, and nothing for another."""
    told_and_compared()
    listing = cli("memory", "list", "--user", "u1", "--persona", PERSONA, "--json")
    assert listing.returncode == 0, listing.stderr
    memories = json.loads(listing.stdout)
    turns = [m["text"] for m in memories if m["kind"] == "turn"]
    facts = [m["text"] for m in memories if m["kind"] == "fact"]
    assert turns[0] == "I am allergic to peanuts." and len(turns) == 4
    assert facts == ["I am allergic to peanuts."]
    other = cli("memory", "list", "--user", "u2", "--persona", PERSONA, "--json")
    assert other.stdout.strip() == "[]"


def test_plain_chat_prints_the_reply_as_text_and_stores_the_exchange():
    """Without --json the reply is printed as text; the exchange is kept as two turns."""
    chat = cli("chat", "--persona", PERSONA, "Hello!")
    assert chat.returncode == 0 and chat.stdout.strip()
    assert not chat.stdout.lstrip().startswith("{")
    before = json.loads(cli("memory", "list", "--persona", PERSONA, "--json").stdout)
    assert [m["role"] for m in before] == ["user", "assistant"]


def test_memory_delete_all_empties_the_scope():
    """`memory delete --all` removes every memory of the user x persona and says how many."""
    added = cli("memory", "add", "--persona", PERSONA, "Hello!", "I like tea.")
    assert added.returncode == 0, added.stderr
    deleted = cli("memory", "delete", "--persona", PERSONA, "--all")
    assert deleted.returncode == 0 and "deleted all" in deleted.stderr
    assert json.loads(cli("memory", "list", "--persona", PERSONA, "--json").stdout) == []


def add_notes(tmp_path):
    """Three notes (a JSON line with a time, a plain line, a JSON line) added for user u3."""
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        '{"text": "I have a nut allergy, cashews included.", "session": "a", '
        '"time": "2026-01-05T09:00:00+00:00"}\n'
        "We watched a film about penguins last night.\n"
        '{"text": "Thanks, that recipe worked!", "role": "user"}\n'
    )
    added = cli(
        "memory", "add", "--user", "u3", "--persona", PERSONA, "--file", str(notes), "--json"
    )
    assert added.returncode == 0, added.stderr
    return added


def test_memory_add_stores_lines_as_chat_turns_and_learns_their_facts(tmp_path):
    """Lines of a file and JSON lines are stored as turns (with their time), and the fact one
    states is learned, as in a chat."""
    added = add_notes(tmp_path)
    out = json.loads(added.stdout)
    assert len(out["stored"]) == 3 and out["stored"][0]["when"] == "2026-01-05T09:00:00+00:00"
    assert [c["action"] for c in out["facts"]] == ["added"]
    assert "stored 3 memories; facts: 1 added" in added.stderr


def test_recall_shows_what_a_personalized_prompt_would_hold_without_a_model(tmp_path):
    """`recall` prints each message's facts, turns and prompt, in a new process, no model."""
    add_notes(tmp_path)
    recall = cli(
        "recall",
        "--user",
        "u3",
        "--persona",
        PERSONA,
        "--json",
        "What can I bake for the class party?",
        "Any film for tonight?",
    )
    assert recall.returncode == 0, recall.stderr
    first, second = json.loads(recall.stdout)
    assert first["facts"][0]["memory"]["text"] == "I have a nut allergy, cashews included."
    assert first["messages"][0]["role"] == "system"
    assert "cashews" in first["messages"][0]["content"]
    assert "What can I bake for the class party?" in first["messages"][-1]["content"]
    episode = second["episodes"][0]
    assert episode["memory"]["text"] == "We watched a film about penguins last night."
    assert "penguins" in second["messages"][-1]["content"]  # before the message it serves
    assert set(episode["parts"]) >= {"dense", "keyword", "recency", "neighbour"}


def test_memory_add_refuses_a_bad_line_and_stores_nothing(tmp_path):
    """A JSON line with a bad role names the line and nothing at all is written."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "who said it?", "role": "narrator"}\n')
    added = cli("memory", "add", "--user", "u4", "--persona", PERSONA, "--file", str(bad))
    assert added.returncode == 1 and "line 2" in added.stderr and "role" in added.stderr
    assert (
        json.loads(cli("memory", "list", "--user", "u4", "--persona", PERSONA, "--json").stdout)
        == []
    )


def test_memory_add_refuses_an_oversized_line_and_stores_nothing(tmp_path):
    """A 2 MB line is refused, naming its line and the limit; nothing at all is written."""
    big = tmp_path / "big.txt"
    big.write_text("I like tea.\n" + "word " * 400_000 + "\n")
    added = cli("memory", "add", "--user", "u5", "--persona", PERSONA, "--file", str(big))
    assert added.returncode == 1 and "line 2" in added.stderr and "4,000" in added.stderr
    listed = cli("memory", "list", "--user", "u5", "--persona", PERSONA, "--json")
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize("message", ["   ", ""])
def test_chat_refuses_an_empty_message_and_stores_nothing(message):
    """`chat` with an empty or whitespace-only message says so and exits 1, no model asked."""
    said = cli("chat", "--user", "u6", "--persona", PERSONA, message)
    assert said.returncode == 1 and "empty" in said.stderr and not said.stdout.strip()
    listed = cli("memory", "list", "--user", "u6", "--persona", PERSONA, "--json")
    assert json.loads(listed.stdout) == []


def test_kinds_give_the_chosen_columns_in_order():
    """`--kinds` answers one JSON object per chosen column kind, in the order given."""
    kinds = cli(
        "chat",
        "--persona",
        PERSONA,
        "--kinds",
        "generic,persona,memory,personalized",
        "--json",
        "--no-remember",
        "Plan my Sunday.",
    )
    assert kinds.returncode == 0, kinds.stderr
    columns = json.loads(kinds.stdout)["columns"]
    assert [c["kind"] for c in columns] == ["generic", "persona", "memory", "personalized"]
    assert all(c["text"].strip() and c["stats"]["total_s"] > 0 for c in columns)


def test_a_persona_grid_gives_a_column_per_persona_with_its_own_profile():
    """`--personas` answers once per persona, each with its own profile and checks."""
    grid = cli(
        "chat",
        "--personas",
        f"{PERSONA},lena-vegan-marathoner,sofia-nursing-student",
        "--json",
        "What should I have for dinner?",
    )
    assert grid.returncode == 0, grid.stderr
    columns = json.loads(grid.stdout)["columns"]
    assert [c["persona"] for c in columns] == [
        PERSONA,
        "lena-vegan-marathoner",
        "sofia-nursing-student",
    ]
    assert "strictly vegan" in columns[1]["prompt"]["messages"][0]["content"]
    assert "strictly vegan" not in columns[2]["prompt"]["messages"][0]["content"]
    assert all(c["checks"] is not None for c in columns)


@pytest.mark.parametrize(
    "env, reason",
    [
        ({}, "no persona 'nobody'"),
        (
            {
                "PERSONALAB_BACKEND": "openai",
                "PERSONALAB_MAX_RETRIES": "0",
                "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
            },
            "cannot reach",
        ),
        ({"PERSONALAB_GGUF_PATH": "x.gguf"}, "GGUF file not found"),
    ],
    ids=["unknown persona", "unreachable server", "missing gguf"],
)
def test_errors_exit_1_with_a_one_line_reason(env, reason):
    """A chat that cannot be answered exits 1 with the reason on stderr and no traceback."""
    persona = "nobody" if not env else PERSONA
    out = cli("chat", "--persona", persona, "hi", env=dict(os.environ, **env))
    assert out.returncode == 1 and reason in out.stderr
    assert "Traceback" not in out.stderr


def test_personas_lists_the_library():
    """`personas` prints one line per persona."""
    out = cli("personas")
    assert out.returncode == 0 and len(out.stdout.splitlines()) >= 6


def test_a_damaged_database_is_named_with_the_way_out_and_left_as_it_is(isolated_env):
    """A memory folder whose SQLite file is corrupted: every command refuses with a message
    naming the file and how to recover (restore a copy, or import an export); the file is
    not rewritten."""
    assert cli("memory", "add", "--user", "u7", "--persona", PERSONA, "I like tea.").returncode == 0
    database = isolated_env / "memory" / "chroma.sqlite3"
    # Every page into the file first: pages still in a -wal file (a process that ended without
    # closing Chroma leaves them there) would be read from it, whole, and the damage missed.
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not database.with_name("chroma.sqlite3-wal").exists()
    damaged = bytearray(database.read_bytes())
    for page in range(0, len(damaged), 4096):
        damaged[page + 100 : page + 300] = b"\xff" * 200
    database.write_bytes(bytes(damaged))
    listed = cli("memory", "list", "--user", "u7", "--persona", PERSONA)
    assert listed.returncode == 1 and str(database) in listed.stderr
    assert "damaged" in listed.stderr and "memory import" in listed.stderr
    assert database.read_bytes() == bytes(damaged)
