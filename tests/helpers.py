"""Test doubles shared by the suite: a scripted model, a faulty server, a full disk; and real
mounts (a small tmpfs, a read-only bind) for storage faults."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from personalab.models.backends import ChatMessage, GenerationOptions
from personalab.models.turns import Turnstile


class ScriptedBackend:
    """A chat backend that replays given chunks, registered like a real one (simonw/llm's
    MockModel): `enqueue([...chunks])` per reply, in order. It records what it was sent and
    how many chunks each reply had handed out before its reader stopped."""

    is_local = True
    bundled = False
    steers = False
    concurrent = False

    def __init__(self, *replies: list[str], name: str = "scripted", context_window: int = 2048):
        self.name = name
        self.context_window = context_window
        self.replies: list[list[str]] = [list(r) for r in replies]
        self.calls: list[tuple[list[ChatMessage], GenerationOptions]] = []
        self.handed_out: list[int] = []

    def enqueue(self, chunks: list[str]) -> ScriptedBackend:
        """Queue the chunks of one more reply."""
        self.replies.append(list(chunks))
        return self

    def stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        if not self.replies:
            raise AssertionError("ScriptedBackend: no reply enqueued for this call")
        chunks = self.replies.pop(0)
        self.calls.append((list(messages), options))
        self.handed_out.append(0)
        for chunk in chunks:
            self.handed_out[-1] += 1
            yield chunk

    def count_tokens(self, text: str) -> int:
        """A word count stands in for a tokenizer."""
        return len(text.split())


WAIT_S = 30  # generous bound for another thread to get somewhere; never reached when right


def until(condition, what: str) -> None:
    """Wait (bounded) for another thread to get somewhere."""
    pause = threading.Event()
    for _ in range(WAIT_S * 20):
        if condition():
            return
        pause.wait(0.05)
    pytest.fail(f"timed out waiting until {what}")


class LinedBackend(ScriptedBackend):
    """A scripted one-at-a-time model whose every stream takes a turn in a real line. Its
    first stream holds the model after its first chunk until another session (start one with
    `other_session`) is in line; `order` records who had the model: "model" or "other"."""

    def __init__(self, *replies: list[str]):
        super().__init__(*replies)
        self.turns = Turnstile()
        self.order: list[str] = []

    def stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        with self.turns.turn():
            self.order.append("model")
            first = len(self.order) == 1
            for chunk in super().stream(messages, options):
                yield chunk
                if first:
                    until(lambda: self.turns.waiting, "the other session is in line")
                    first = False

    def other_session(self) -> threading.Thread:
        """Another session's request for the model, started now."""

        def take_turn() -> None:
            with self.turns.turn():
                self.order.append("other")

        thread = threading.Thread(target=take_turn, daemon=True)
        thread.start()
        return thread


class FaultServer:
    """Fault injection: a loopback HTTP server answering every request with one scripted fault."""

    def __init__(
        self,
        status: int,
        body: dict | None = None,
        cut_stream: bool = False,
        raw: tuple[str, bytes] | None = None,  # (content type, body) sent as they are
    ):
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests += 1
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if cut_stream:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("content-length", "100000")
                    self.end_headers()
                    chunk = {
                        "id": "1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "m",
                        "choices": [{"index": 0, "delta": {"content": "Half"}}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    self.connection.close()  # cut mid-way
                    return
                kind, payload = raw or (
                    "application/json",
                    json.dumps(body or {"error": {"message": "nope"}}).encode(),
                )
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(payload)))
                self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class DiskClient:
    """Fault injection: a real Chroma client whose collections record each write's size and
    fail as a full disk does once `room` writes have gone through (None: never)."""

    def __init__(self, client, room: int | None = None):
        self.client = client
        self.room = room
        self.writes: list[int] = []

    def __getattr__(self, name):
        return getattr(self.client, name)

    def get_or_create_collection(self, *args, **kwargs):
        collection = self.client.get_or_create_collection(*args, **kwargs)
        disk = self

        class Watched:
            def __getattr__(self, name):
                return getattr(collection, name)

            def _write(self, method, **kwargs):
                if disk.room is not None and len(disk.writes) >= disk.room:
                    raise OSError(28, "No space left on device")
                disk.writes.append(len(kwargs["ids"]))
                return getattr(collection, method)(**kwargs)

            def add(self, **kwargs):
                return self._write("add", **kwargs)

            def upsert(self, **kwargs):
                return self._write("upsert", **kwargs)

        return Watched()


@contextmanager
def mounted(target: Path, *args: str) -> Iterator[Path]:
    """A real mount at target for the test's length (skipped where mounting is not allowed:
    it needs root, as on the CI machine)."""
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def small_disk(target: Path, size: str = "16m"):
    """A real file system of `size` (tmpfs) at target."""
    return mounted(target, "-t", "tmpfs", "-o", f"size={size}", "tmpfs")


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """The folder turned read-only where it is (a read-only bind mount over it): files opened
    from now on cannot be written. (A file system cannot be remounted read-only while a file
    is open for writing: the kernel says "busy".)"""
    with mounted(folder, "--bind", str(folder)):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield folder


def fill(folder: Path) -> Path:
    """Fill the disk under folder to the last byte; returns the filler (delete it to free)."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == 28, exc
    return filler


def after_restart(folder: Path, code: str) -> object:
    """This process lets go of the memory folder; a new one opens it as `s` (a MemoryStore),
    runs `code` and prints the JSON of its last line's expression, which is returned."""
    from personalab.memory import lock as folder_lock

    folder_lock.release(folder)
    *steps, last = code.strip().splitlines()
    program = "\n".join(
        [
            "import json",
            "from personalab import *",
            f"s = MemoryStore(open_client({str(folder)!r}), Embedder())",
            *steps,
            f"print(json.dumps({last}))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", program], check=True, timeout=300, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
