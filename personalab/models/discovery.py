"""Models this machine already has: local OpenAI-compatible servers and GGUF files, found fast."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# The usual ports of local servers that speak the OpenAI API.
KNOWN_PORTS = {
    11434: "Ollama",
    1234: "LM Studio",
    8080: "llama.cpp server",
    8000: "vLLM or llama.cpp server",
    5001: "KoboldCpp",
    1337: "Jan",
}
PROBE_TIMEOUT_S = 0.4
MAX_DEPTH = 6
MAX_FILES = 20_000  # files looked at per folder, so a huge home folder cannot stall the scan
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def gguf_folders(extra: str = "") -> list[tuple[Path, str]]:
    """Where GGUF files usually live, with a label for each; `extra` is a folder setting."""
    home = Path.home()
    hf = Path(os.environ.get("HF_HOME", home / ".cache" / "huggingface")) / "hub"
    folders = [
        (hf, "Hugging Face cache"),
        (home / ".lmstudio" / "models", "LM Studio"),
        (home / ".cache" / "lm-studio" / "models", "LM Studio"),
        (home / "models", "~/models"),
    ]
    if extra:
        folders.insert(0, (Path(extra).expanduser(), "models folder setting"))
    return folders


@dataclass(frozen=True)
class FoundModel:
    """A model found on this machine: a server's model (base URL + name) or a GGUF file."""

    kind: str  # server | gguf
    name: str
    location: str  # the base URL (…/v1) or the file path
    source: str  # Ollama, LM Studio, Hugging Face cache…
    size_bytes: int = 0

    @property
    def label(self) -> str:
        size = f", {self.size_bytes / 2**30:.1f} GB" if self.size_bytes else ""
        return f"{self.name} ({self.source}{size})"


def probe_server(
    base_url: str, source: str, timeout_s: float = PROBE_TIMEOUT_S
) -> list[FoundModel]:
    """The models a server at base_url (…/v1) lists; [] when it is absent, slow or not OpenAI."""
    try:
        with _DIRECT.open(f"{base_url}/models", timeout=timeout_s) as response:
            if response.status != 200:
                return []
            data = json.loads(response.read(1_000_000))
    except (OSError, ValueError):
        return []
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [
        FoundModel("server", str(item["id"]), base_url, source)
        for item in items
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip()
    ]


def find_ggufs(folder: Path, source: str, deadline: float) -> list[FoundModel]:
    """GGUF files under folder (a few levels deep), with their sizes; stops at the deadline."""
    found: list[FoundModel] = []
    if not folder.is_dir():
        return found
    seen = 0
    root_depth = len(folder.parts)
    for path, dirs, files in os.walk(folder, followlinks=False):
        if len(Path(path).parts) - root_depth >= MAX_DEPTH:
            dirs[:] = []
        for name in files:
            seen += 1
            if not name.lower().endswith(".gguf"):
                continue
            file = Path(path) / name
            try:
                size = file.stat().st_size  # follows a cache symlink to its blob
            except OSError:
                continue
            if size > 0:
                found.append(FoundModel("gguf", file.stem, str(file), source, size))
        if seen > MAX_FILES or time.monotonic() > deadline:
            break
    return found


def discover(
    ports: dict[int, str] | None = None,
    folders: list[tuple[Path, str]] | None = None,
    budget_s: float = 1.0,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> list[FoundModel]:
    """Every model found on this machine's loopback servers and usual folders, within budget_s
    for the folders and timeout_s for each server.

    Only 127.0.0.1 is asked; nothing leaves the machine. Servers are asked all at once.
    """
    ports = KNOWN_PORTS if ports is None else ports
    folders = gguf_folders() if folders is None else folders
    deadline = time.monotonic() + budget_s
    with ThreadPoolExecutor(max_workers=max(1, len(ports) + 1)) as pool:
        servers = [
            pool.submit(probe_server, f"http://127.0.0.1:{port}/v1", label, timeout_s)
            for port, label in ports.items()
        ]
        files = pool.submit(
            lambda: [m for f, label in folders for m in find_ggufs(f, label, deadline)]
        )
        found = [m for job in servers for m in job.result()]
        found += files.result()
    unique = {(m.kind, m.location, m.name): m for m in found}
    return sorted(unique.values(), key=lambda m: (m.kind != "server", m.source, m.name.lower()))


class Discovery:
    """Runs discover() in the background; the page shows what it has so far and never waits."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._lock = threading.Lock()
        self._found: list[FoundModel] | None = None
        self._thread: threading.Thread | None = None
        self.finished_at = 0.0

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, daemon=True, name="discovery")
            self._thread.start()

    def results(self) -> list[FoundModel] | None:
        """The models found by the last finished scan, or None while the first one runs."""
        return self._found

    def wait(self, timeout: float | None = None) -> list[FoundModel] | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._found

    def _run(self) -> None:
        found = discover(**self._kwargs)
        self._found, self.finished_at = found, time.time()
