"""The command line, run as a user would: separate processes sharing a memory folder."""

import json
import subprocess
import sys

from personalab.evaluation.serving import free_port

PERSONA = "ananya-olympiad-student"


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "personalab", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_chat_json_then_memory_list_in_a_new_process():
    """A scripted chat prints JSON with the reply and prompt; a later process lists the memory."""
    first = cli("chat", "--user", "u1", "--persona", PERSONA, "--json", "I am allergic to peanuts.")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["personalized"]["text"].strip()
    assert out["personalized"]["prompt"]["messages"][0]["role"] == "system"
    assert out["personalized"]["prompt"]["messages"][-1]["content"].startswith(
        "I am allergic to peanuts.\n\n(Remember: Her family is vegetarian"
    )
    assert "generic" not in out

    second = cli(
        "chat",
        "--user",
        "u1",
        "--persona",
        PERSONA,
        "--compare",
        "--json",
        "Can I eat a peanut chikki?",
    )
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["generic"]["text"].strip() and out["personalized"]["text"].strip()
    assert out["memories"][0]["memory"]["text"] == "I am allergic to peanuts."
    assert 0 < out["memories"][0]["similarity"] <= 1
    assert "peanuts" not in json.dumps(out["generic"]["prompt"]["messages"])

    listing = cli("memory", "list", "--user", "u1", "--persona", PERSONA, "--json")
    assert listing.returncode == 0, listing.stderr
    texts = [m["text"] for m in json.loads(listing.stdout)]
    assert texts[0] == "I am allergic to peanuts." and len(texts) == 4
    assert (
        cli("memory", "list", "--user", "u2", "--persona", PERSONA, "--json").stdout.strip() == "[]"
    )


def test_plain_chat_streams_text_and_delete_all_forgets():
    """Without --json the reply is printed as text; `memory delete --all` empties the scope."""
    chat = cli("chat", "--persona", PERSONA, "Hello!")
    assert chat.returncode == 0 and chat.stdout.strip()
    assert cli("memory", "delete", "--persona", PERSONA, "--all").returncode == 0
    assert json.loads(cli("memory", "list", "--persona", PERSONA, "--json").stdout) == []


def test_errors_exit_non_zero_with_a_message(monkeypatch):
    """An unknown persona and an unreachable server each exit 1 with a one-line reason."""
    missing = cli("chat", "--persona", "nobody", "hi")
    assert missing.returncode == 1 and "no persona 'nobody'" in missing.stderr
    import os

    env = dict(
        os.environ,
        PERSONALAB_BACKEND="openai",
        PERSONALAB_MAX_RETRIES="0",
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
    )
    down = cli("chat", "--persona", PERSONA, "hi", env=env)
    assert down.returncode == 1 and "cannot reach" in down.stderr
    assert "Traceback" not in down.stderr
    gone = cli(
        "chat", "--persona", PERSONA, "hi", env=dict(os.environ, PERSONALAB_GGUF_PATH="x.gguf")
    )
    assert gone.returncode == 1 and "GGUF file not found" in gone.stderr


def test_personas_lists_the_library():
    """`personas` prints one line per persona."""
    out = cli("personas")
    assert out.returncode == 0 and len(out.stdout.splitlines()) >= 6
