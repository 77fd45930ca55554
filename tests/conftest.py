"""Shared fixtures: real bundled models, real Chroma in temp folders, an isolated environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "personas"

# Nothing in the suite may reach for a model hub or send telemetry.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None):
    """`python -m personalab ARGS` in a new process, as a user runs it; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "personalab", *args],
        capture_output=True,
        text=True,
        timeout=600,
        input=stdin,
        env=env,
    )


@pytest.fixture(scope="session", autouse=True)
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the embedder's onnxruntime export, shared by the whole run (and by the
    processes tests start), never the user's own cache."""
    folder = tmp_path_factory.mktemp("export-cache")
    os.environ["PERSONALAB_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export_cache: Path) -> Path:
    """Each test gets its own memory and persona folders, and no PERSONALAB_/OPENAI_ variables
    but the run's export cache."""
    for key in list(os.environ):
        if key.startswith(("PERSONALAB_", "OPENAI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PERSONALAB_CACHE_DIR", str(export_cache))
    personas = tmp_path / "personas"
    shutil.copytree(LIBRARY, personas)
    monkeypatch.setenv("PERSONALAB_MEMORY_DIR", str(tmp_path / "memory"))
    monkeypatch.setenv("PERSONALAB_PERSONAS_DIR", str(personas))
    monkeypatch.setenv("PERSONALAB_MAX_TOKENS", "48")
    monkeypatch.setenv("PERSONALAB_TEMPERATURE", "0")
    # Logic tests run on the fastest pack; tests/test_models.py covers the default and the rest.
    monkeypatch.setenv("PERSONALAB_MODEL", "smollm2-135m")
    monkeypatch.setenv("PERSONALAB_SEED_PERSONAS", "0")  # tests that want seeds turn them on
    monkeypatch.setenv("PERSONALAB_USER", "tester")  # a named user: every app session shares it
    # `python -m personalab` in a subprocess finds the package from any working directory.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def embedder(export_cache):
    from personalab import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def offline_backend():
    from personalab import EmbeddedBackend

    return EmbeddedBackend()


@pytest.fixture
def store(tmp_path: Path, embedder):
    from personalab import MemoryStore, open_client

    return MemoryStore(open_client(tmp_path / "chroma"), embedder)


@pytest.fixture
def settings():
    from personalab import Settings

    return Settings.load(secrets_path=None)


@pytest.fixture(scope="session")
def llama_server():
    """llama.cpp's own OpenAI-compatible server serving the bundled GGUF on 127.0.0.1."""
    import sys

    from personalab.evaluation.serving import free_port, running
    from personalab.models.backends import bundled_gguf_path

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf_path())]
    args += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    with running(args, f"{url}/models"):
        yield url


CHROMA_TOKEN = "test-token-0123456789"


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (Python, token authentication) on 127.0.0.1 for the whole run."""
    from personalab.evaluation.serving import chroma_server as serve

    with serve(tmp_path_factory.mktemp("chroma-server"), CHROMA_TOKEN) as (url, _):
        yield url


@pytest.fixture
def server_store(chroma_server, embedder):
    """A MemoryStore on the shared Chroma server, as several app processes would use it."""
    from personalab import MemoryStore
    from personalab.memory.chroma import open_server

    return MemoryStore(open_server(chroma_server, CHROMA_TOKEN), embedder, shared=True)
