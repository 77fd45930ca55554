"""Backends: the bundled model in-process, and the OpenAI backend against real local servers."""

import pytest

from personalab import BackendError, ChatMessage, EmbeddedBackend, GenerationOptions, OpenAIBackend
from personalab.evaluation.serving import free_port
from personalab.models.backends import bundled_gguf_path
from tests.helpers import FaultServer

HELLO = [ChatMessage("user", "Say hello in one short sentence.")]
SHORT = GenerationOptions(max_tokens=24, temperature=0)


@pytest.mark.slow
def test_bundled_model_streams_a_reply(offline_backend):
    """The offline default streams several non-empty chunks."""
    chunks = list(offline_backend.stream(HELLO, SHORT))
    assert len(chunks) > 1 and "".join(chunks).strip()
    assert offline_backend.is_local


def test_a_missing_gguf_file_names_the_path(tmp_path):
    """A wrong GGUF path fails with the path in the message."""
    with pytest.raises(BackendError, match="GGUF file not found: .*nope.gguf"):
        EmbeddedBackend(tmp_path / "nope.gguf")


@pytest.mark.slow
def test_any_gguf_path_loads(tmp_path):
    """A GGUF given by path (here a copy of the bundled one) is used and named after its file."""
    copy = tmp_path / "my-model.gguf"
    copy.write_bytes(bundled_gguf_path().read_bytes())
    backend = EmbeddedBackend(copy, n_ctx=512)
    assert backend.name == "my-model"
    assert "".join(backend.stream(HELLO, SHORT)).strip()


@pytest.mark.slow
def test_openai_backend_streams_from_a_real_local_server(llama_server):
    """The OpenAI-compatible backend streams a reply from llama.cpp's server, no key needed."""
    backend = OpenAIBackend("smollm2", base_url=llama_server, timeout_s=60)
    chunks = list(backend.stream(HELLO, SHORT))
    assert len(chunks) > 1 and "".join(chunks).strip()
    assert backend.is_local


def test_an_unreachable_server_says_so():
    """Nothing listening: the message names the URL and suggests the offline model."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend("m", base_url=url, timeout_s=5, max_retries=0)
    with pytest.raises(BackendError, match=f"cannot reach {url}.*offline"):
        list(backend.stream(HELLO, SHORT))


def test_no_key_and_no_server_asks_for_one():
    """Choosing OpenAI without a key or base URL explains both ways out."""
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")


@pytest.mark.parametrize(
    "status, expected",
    [
        (401, "rejected the API key"),
        (404, "has no model 'm'"),
        (429, "rate limiting"),
        (500, "answered 500"),
    ],
)
def test_server_errors_become_plain_messages(status, expected):
    """401, 404, 429 and 500 each get a message saying what to do."""
    server = FaultServer(status)
    try:
        backend = OpenAIBackend("m", api_key="sk-test", base_url=server.url, max_retries=1)
        with pytest.raises(BackendError, match=expected):
            list(backend.stream(HELLO, SHORT))
    finally:
        server.close()


def test_rate_limits_are_retried_by_the_client():
    """A 429 is retried (max_retries) before the error reaches the user."""
    server = FaultServer(429)
    try:
        backend = OpenAIBackend("m", api_key="k", base_url=server.url, max_retries=2)
        with pytest.raises(BackendError):
            list(backend.stream(HELLO, SHORT))
        assert server.requests == 3
    finally:
        server.close()


def test_error_messages_never_echo_the_key():
    """A server that echoes the key in its error body does not get it shown."""
    body = {"error": {"message": "Incorrect key sk-abcdefghijklmnopqrstuvwx provided"}}
    server = FaultServer(400, body)
    try:
        backend = OpenAIBackend("m", api_key="sk-abcdefghijklmnopqrstuvwx", base_url=server.url)
        with pytest.raises(BackendError) as info:
            list(backend.stream(HELLO, SHORT))
        assert "sk-abcdefghijklmnopqrstuvwx" not in str(info.value)
    finally:
        server.close()


@pytest.mark.parametrize(
    "raw",
    [
        ("text/html", b"<html><body>Welcome to the router</body></html>"),
        ("text/event-stream", b"this is not an event stream"),
        ("application/json", b'{"status": "ok"}'),
    ],
)
def test_a_200_that_is_not_a_chat_stream_is_an_error_not_an_empty_reply(raw):
    """A server that answers 200 with a page, plain text or other JSON gives a clear error
    naming the URL, never an empty reply."""
    server = FaultServer(200, raw=raw)
    try:
        backend = OpenAIBackend("m", api_key="k", base_url=server.url, max_retries=0)
        with pytest.raises(BackendError, match="not with a chat completion stream") as info:
            list(backend.stream(HELLO, SHORT))
        assert server.url in str(info.value)
    finally:
        server.close()


def test_a_stream_cut_midway_is_an_error_not_a_short_reply():
    """When the connection drops mid-reply, the user is told the reply was cut off."""
    server = FaultServer(200, cut_stream=True)
    try:
        backend = OpenAIBackend("m", api_key="k", base_url=server.url, max_retries=0)
        received = []
        with pytest.raises(BackendError, match="cut off"):
            for chunk in backend.stream(HELLO, SHORT):
                received.append(chunk)
        assert received == ["Half"]
    finally:
        server.close()
