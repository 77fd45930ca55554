"""Discovery of local models: a real llama.cpp server, a folder holding a GGUF, bad servers."""

import http.server
import threading
import time
from pathlib import Path

from personalab.evaluation.serving import free_port
from personalab.models.backends import bundled_gguf_path
from personalab.models.discovery import Discovery, discover


class OddServer:
    """Fault injection: a loopback server that answers /v1/models slowly or with the wrong body."""

    def __init__(self, delay_s: float = 0.0, body: bytes = b"<html>hello</html>"):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(delay_s)
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


def test_a_real_server_and_a_gguf_file_are_found_within_about_a_second(llama_server, tmp_path):
    """The running llama.cpp server's model and a GGUF in a models folder are both listed,
    with their source and size; a slow server, a wrong one and a closed port are not."""
    port = int(llama_server.rsplit(":", 1)[1].split("/")[0])
    folder = tmp_path / "models" / "org" / "repo"
    folder.mkdir(parents=True)
    (folder / "tiny-chat.Q4.gguf").symlink_to(bundled_gguf_path())
    (folder / "notes.txt").write_text("not a model")
    slow, wrong = OddServer(delay_s=3.0), OddServer(body=b'{"object": "list"}')
    try:
        ports = {
            port: "llama.cpp server",
            slow.port: "slow",
            wrong.port: "wrong",
            free_port(): "nothing",
        }
        start = time.perf_counter()
        found = discover(ports, [(tmp_path / "models", "models folder")], budget_s=1.0)
        seconds = time.perf_counter() - start
    finally:
        slow.close(), wrong.close()
    servers = [m for m in found if m.kind == "server"]
    files = [m for m in found if m.kind == "gguf"]
    assert [m.source for m in servers] == ["llama.cpp server"]
    assert servers[0].location == llama_server and servers[0].name
    assert [(m.name, m.source) for m in files] == [("tiny-chat.Q4", "models folder")]
    assert files[0].size_bytes == bundled_gguf_path().stat().st_size
    assert "GB" in files[0].label or "models folder" in files[0].label
    assert seconds < 1.5


def test_discovery_runs_in_the_background(tmp_path):
    """Starting a scan returns at once; its results arrive when it finishes."""
    scan = Discovery(ports={free_port(): "nothing"}, folders=[(tmp_path, "empty")])
    start = time.perf_counter()
    scan.start()
    assert time.perf_counter() - start < 0.1
    assert scan.wait(5) == [] and scan.finished_at > 0
    assert Path(tmp_path).exists()
