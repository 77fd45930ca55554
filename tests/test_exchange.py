"""One exchange's writes: the user's turn is stored as it arrives, the reply when it ends; a
reply that fails or a process killed mid-reply leaves the user's turn, marked unanswered."""

import http.server
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from personalab import BackendError, ColumnKind, Engine, PersonaLabError, PersonaLibrary
from personalab.memory.store import MemoryStore, open_client
from tests.conftest import LIBRARY
from tests.helpers import ScriptedBackend

PERSONA = "lena-vegan-marathoner"


def turns(store, role: str) -> list:
    return [m for m in store.list("ana", PERSONA, kind="turn") if m.role == role]


@pytest.fixture
def persona():
    return PersonaLibrary(LIBRARY).get(PERSONA)


def test_the_users_turn_is_stored_before_the_reply_and_marked_answered_after(
    store, settings, persona
):
    """While the reply streams, the user's turn is already in memory, unanswered; once the
    reply has ended, it is answered and the reply is stored beside it."""
    engine = Engine(
        store,
        ScriptedBackend(["Lentil ", "soup."]),
        settings.replace(guard="off", fact_extraction="rules"),
    )
    reply = engine.reply("ana", persona, "What should I cook tonight?", "s")
    stream = iter(reply)
    assert next(stream) == "Lentil "
    (said,) = turns(store, "user")
    assert said.text == "What should I cook tonight?" and said.metadata["answered"] is False
    assert turns(store, "assistant") == []
    list(stream)
    reply.saved.wait(60)
    assert [m.metadata["answered"] for m in turns(store, "user")] == [True]
    assert [m.text for m in turns(store, "assistant")] == ["Lentil soup."]


class Failing(ScriptedBackend):
    """Fault injection: a model that gives one chunk and then fails, once."""

    def stream(self, messages, options):
        if not self.calls:
            self.calls.append((list(messages), options))
            yield "Half"
            raise BackendError("the connection broke")
        yield from super().stream(messages, options)


def test_a_failed_reply_keeps_the_turn_unanswered_and_sending_again_does_not_copy_it(
    store, settings, persona
):
    """A reply that fails mid-stream leaves the user's turn, unanswered, and no reply; the
    same message sent again answers that turn instead of storing a second one."""
    engine = Engine(
        store, Failing(["A lentil curry."]), settings.replace(guard="off", fact_extraction="rules")
    )
    with pytest.raises(BackendError):
        engine.reply("ana", persona, "Dinner ideas?", "s").read()
    (said,) = turns(store, "user")
    assert said.metadata["answered"] is False and turns(store, "assistant") == []
    again = Engine(
        store, engine.backend, settings.replace(guard="off", fact_extraction="rules")
    )  # a page's next run
    again.reply("ana", persona, "Dinner ideas?", "s").read()
    assert [(m.id, m.metadata["answered"]) for m in turns(store, "user")] == [(said.id, True)]
    assert [m.text for m in turns(store, "assistant")] == ["A lentil curry."]


@pytest.mark.parametrize("message", ["", "   ", "\n\t ", "x" * 4001])
def test_empty_and_overlong_messages_are_refused_and_nothing_is_stored(
    store, settings, persona, message
):
    """An empty or whitespace-only message, or one over the limit, is refused with what to
    do, before any model call or write."""
    backend = ScriptedBackend(["never"])
    engine = Engine(store, backend, settings)
    with pytest.raises(PersonaLabError, match="empty|4,000"):
        engine.compare("ana", persona, message, "s", [ColumnKind.PERSONALIZED])
    assert backend.calls == [] and store.list("ana", PERSONA) == []


class Stalling(http.server.BaseHTTPRequestHandler):
    """A chat server that sends the first words of a reply and then never finishes."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        chunk = {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": "Half a reply"}}]}  # fmt: skip
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()
        threading.Event().wait(120)

    def log_message(self, *args):
        pass


def test_a_process_killed_mid_reply_leaves_the_users_turn_unanswered(isolated_env, embedder):
    """`chat` killed with SIGKILL while its reply streams: the user's words are in memory,
    marked unanswered, and the store opens."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = os.environ | {
        "PERSONALAB_BACKEND": "openai",
        "PERSONALAB_OPENAI_BASE_URL": f"http://127.0.0.1:{server.server_port}/v1",
        "PERSONALAB_OPENAI_API_KEY": "k",
        "PERSONALAB_USER": "ana",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "personalab", "chat", "--persona", PERSONA, "Plan my long run."],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert child.stdout.read(4) == b"Half"  # the reply is streaming
        child.send_signal(signal.SIGKILL)
        child.wait(60)
    finally:
        child.kill()
        server.shutdown()
    store = MemoryStore(open_client(isolated_env / "memory"), embedder)
    (said,) = turns(store, "user")
    assert said.text == "Plan my long run." and said.metadata["answered"] is False
    assert turns(store, "assistant") == []


def test_an_oversized_memory_is_kept_out_of_the_prompt_not_the_rest(store, settings, persona):
    """A 20,000-character turn (stored before the limit existed) is recalled, but the prompt
    leaves it out, stays within the model's window, and still takes the memory that fits."""
    from personalab import NewMemory

    huge = "My marathon training log: " + "long run, easy run, rest day. " * 650
    store.remember("ana", PERSONA, [NewMemory(huge, "user", "old")])
    store.remember("ana", PERSONA, [NewMemory("My long run is on Sundays.", "user", "old")])
    engine = Engine(store, None, settings)
    recalled = engine.recall("ana", persona, "When is my long run?", "now")
    assert any(len(h.memory.text) > 19_000 for h in recalled.episodes)  # recalled, scored
    plan = engine.plan(ColumnKind.PERSONALIZED, "When is my long run?", persona, recalled)
    assert [m.memory.text for m in plan.memories] == ["My long run is on Sundays."]
    assert plan.prompt_tokens <= settings.n_ctx and huge not in plan.messages[0].content
