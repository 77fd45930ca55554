"""The app served locally for measurements and browser tests: free ports, start/stop, chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Debian chromium fully offline: no Google lookups, no background traffic; loopback reachable.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pings",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(
    args: list[str], ready_url: str, env: dict[str, str] | None = None, timeout_s: float = 120
) -> Iterator[subprocess.Popen]:
    """Run a local server process for the block, entered once ready_url answers (the process
    is yielded, for a test that kills it)."""
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{args[2]} did not get ready at {ready_url}") from None
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chroma_server(data: Path, token: str, port: int = 0) -> Iterator[tuple[str, subprocess.Popen]]:
    """A Chroma server on 127.0.0.1 with token authentication, persisting to data; yields its
    URL and its process (a free port unless one is given, to restart on the same one)."""
    env = dict(
        os.environ,
        CHROMA_SERVER_AUTHN_PROVIDER="chromadb.auth.token_authn.TokenAuthenticationServerProvider",
        CHROMA_SERVER_AUTHN_CREDENTIALS=token,
        IS_PERSISTENT="1",
        PERSIST_DIRECTORY=str(data),
        ANONYMIZED_TELEMETRY="False",
    )
    port = port or free_port()
    args = [sys.executable, "-m", "uvicorn", "chromadb.app:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/api/v2/heartbeat", env=env) as proc:
        yield url, proc


@contextlib.contextmanager
def serve_app(env: dict[str, str] | None = None, timeout_s: float = 120) -> Iterator[str]:
    """Run `streamlit run app.py` on a free loopback port; yield its URL once healthy."""
    with app_process(env, timeout_s) as (url, _):
        yield url


@contextlib.contextmanager
def app_process(
    env: dict[str, str] | None = None, timeout_s: float = 120
) -> Iterator[tuple[str, subprocess.Popen]]:
    """serve_app(), yielding the URL and the server's process (to measure its memory)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    args = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    args += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    args += ["--browser.gatherUsageStats", "false"]
    with running(args, f"{url}_stcore/health", {**os.environ, **(env or {})}, timeout_s) as proc:
        yield url, proc


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


LLAMA_SERVER = Path(os.environ.get("PERSONALAB_LLAMA_SERVER", ROOT / ".cache" / "llama-server"))


@contextlib.contextmanager
def llama_server(
    gguf: Path, slots: int, n_ctx: int = 4096
) -> Iterator[tuple[str, subprocess.Popen]]:
    """llama.cpp's own server (built by `make llama-server`) on a free loopback port, decoding
    `slots` requests at once with n_ctx tokens each; yields its /v1 URL and its process."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/v1"
    args = [str(LLAMA_SERVER), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port)]
    args += ["--parallel", str(slots), "-c", str(slots * n_ctx), "-t", "2"]
    with running(args, f"{api}/models") as proc:
        yield api, proc


def launch_chromium(playwright):
    """Headless Debian chromium through Playwright (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
