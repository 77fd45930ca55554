"""Discovery of local models: a real llama.cpp server, a folder holding a GGUF, bad servers."""

import http.server
import threading

import pytest

from personalab.evaluation.serving import free_port
from personalab.models.backends import bundled_gguf_path
from personalab.models.discovery import Discovery, FoundModel, discover


class OddServer:
    """Fault injection: a loopback server that answers /v1/models with the wrong body, or (with
    a gate) not until the gate opens."""

    def __init__(self, body: bytes = b"<html>hello</html>", gate: threading.Event | None = None):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if gate is not None:
                    gate.wait(30)
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.mark.slow
def test_a_real_server_and_a_gguf_file_are_found_and_odd_servers_are_not(llama_server, tmp_path):
    """The running llama.cpp server's model and a GGUF in a models folder are both listed,
    with their source and size; a server that has not answered by the budget, a server that
    is not OpenAI-compatible, and a closed port are not."""
    port = int(llama_server.rsplit(":", 1)[1].split("/")[0])
    folder = tmp_path / "models" / "org" / "repo"
    folder.mkdir(parents=True)
    (folder / "tiny-chat.Q4.gguf").symlink_to(bundled_gguf_path())
    (folder / "notes.txt").write_text("not a model")
    gate = threading.Event()
    slow = OddServer(body=b'{"object": "list", "data": [{"id": "late"}]}', gate=gate)
    wrong = OddServer(body=b'{"object": "list"}')
    try:
        ports = {
            port: "llama.cpp server",
            slow.port: "slow",
            wrong.port: "wrong",
            free_port(): "nothing",
        }
        found = discover(ports, [(tmp_path / "models", "models folder")], budget_s=1.0)
    finally:
        gate.set()  # the slow server answers only now, after the scan has given up on it
        slow.close(), wrong.close()
    servers = [m for m in found if m.kind == "server"]
    files = [m for m in found if m.kind == "gguf"]
    assert [m.source for m in servers] == ["llama.cpp server"]
    assert servers[0].location == llama_server and servers[0].name
    assert [(m.name, m.source) for m in files] == [("tiny-chat.Q4", "models folder")]
    assert files[0].size_bytes == bundled_gguf_path().stat().st_size


def test_a_found_file_is_labelled_with_its_source_and_size():
    """A file's label names it, where it was found and its size in GB."""
    model = FoundModel("gguf", "tiny-chat", "/m/tiny.gguf", "models folder", 3 * 2**30 // 2)
    assert model.label == "tiny-chat (models folder, 1.5 GB)"


def test_discovery_runs_in_the_background(tmp_path):
    """Starting a scan returns while a server it asks is still silent; the results (the
    server's model and a GGUF file) arrive when the scan has finished."""
    (tmp_path / "tiny.gguf").symlink_to(bundled_gguf_path())
    gate = threading.Event()
    server = OddServer(body=b'{"object": "list", "data": [{"id": "m1"}]}', gate=gate)
    try:
        ports = {server.port: "silent"}
        scan = Discovery(ports=ports, folders=[(tmp_path, "models folder")], timeout_s=60)
        scan.start()
        assert scan.results() is None  # the silent server holds the scan: start() did not wait
        gate.set()
        assert [m.name for m in scan.wait(60)] == ["m1", "tiny"] and scan.finished_at > 0
    finally:
        gate.set()
        server.close()
