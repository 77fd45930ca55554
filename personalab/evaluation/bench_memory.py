"""Memory control figures: embedded vs server latency for 100 users, export/import, a kill -9."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation.common import QUESTIONS, corpus, summary
from personalab.evaluation.serving import chroma_server
from personalab.memory import lock as folder_lock
from personalab.memory.chroma import open_server
from personalab.memory.store import MemoryStore, open_client
from personalab.personas.model import Persona
from personalab.records import Memory, NewMemory, parse_export
from personalab.settings import Settings

TOKEN = "bench-token"


def _persona() -> Persona:
    persona = Persona(name="Bench")
    persona.set_id("bench")
    return persona


def fill(store: MemoryStore, users: int, per_user: int, texts: list[str], vectors) -> float:
    """users x per_user memories (the same real texts and vectors for every user)."""
    start = time.perf_counter()
    for u in range(users):
        memories = [
            Memory(f"u{u}-{i}", t, "user", 1.7e9 + i, f"s{i // 10}", f"user-{u}", "bench")
            for i, t in enumerate(texts[:per_user])
        ]
        store.restore(f"user-{u}", "bench", memories, vectors[:per_user])
    return time.perf_counter() - start


def per_turn(store: MemoryStore, settings: Settings, users: int, turns: int) -> dict:
    """A turn of a random user: recall + prompt (new text), then its exchange written."""
    engine = Engine(store, None, settings.replace(fact_extraction="rules"))
    persona = _persona()
    rng = random.Random(3)
    recall_t, write_t = [], []
    for i in range(turns):
        user = f"user-{rng.randrange(users)}"
        question = f"{QUESTIONS[i % len(QUESTIONS)]} (turn {i})"
        t0 = time.perf_counter()
        engine.recall(user, persona, question, "now")
        t1 = time.perf_counter()
        reply = NewMemory(f"Reply {i}: here you go.", "assistant", "now")
        engine.remember(user, persona.id, [NewMemory(question, "user", "now"), reply])
        t2 = time.perf_counter()
        recall_t.append(t1 - t0)
        write_t.append(t2 - t1)
    return {"recall": summary(recall_t), "write": summary(write_t)}


def stores(embedder: Embedder, settings: Settings, users: int, per_user: int, turns: int) -> dict:
    """The same 100 x 1,000 memories in an embedded folder and on a Chroma server."""
    texts, _ = corpus(per_user, None)
    vectors = embedder.embed(texts)
    out = {}
    folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
    try:
        embedded = MemoryStore(open_client(folder / "embedded"), embedder)
        out["embedded"] = {"fill_s": round(fill(embedded, users, per_user, texts, vectors), 1)}
        out["embedded"] |= per_turn(embedded, settings, users, turns)
        with chroma_server(folder / "server", TOKEN) as (url, _):
            server = MemoryStore(open_server(url, TOKEN), embedder, shared=True)
            out["server"] = {"fill_s": round(fill(server, users, per_user, texts, vectors), 1)}
            out["server"] |= per_turn(server, settings, users, turns)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def round_trip(embedder: Embedder, size: int = 10_000) -> dict:
    """Export 10k memories, forget them, import them back: times, and whether all came back."""
    texts, _ = corpus(size, None)
    folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
    try:
        store = MemoryStore(open_client(folder), embedder)
        start = time.perf_counter()
        store.remember(
            "ana", "bench", [NewMemory(t, "user", f"s{i // 20}") for i, t in enumerate(texts)]
        )
        written = time.perf_counter() - start
        t0 = time.perf_counter()
        lines = list(store.export_jsonl("ana", "bench"))
        t1 = time.perf_counter()
        store.forget_all("ana", "bench")
        t2 = time.perf_counter()
        store.restore("ana", "bench", parse_export(lines))
        t3 = time.perf_counter()
        again = list(store.export_jsonl("ana", "bench"))
        return {
            "memories": size,
            "write_s": round(written, 1),
            "export_s": round(t1 - t0, 2),
            "forget_s": round(t2 - t1, 2),
            "import_s": round(t3 - t2, 1),
            "equal": again == lines,
            "count_after": len(again),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def killed_import(embedder: Embedder, size: int = 10_000, after_s: float = 8.0) -> dict:
    """`memory import` killed with SIGKILL midway: what is left, and whether the folder works."""
    texts, _ = corpus(size, None)
    folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
    try:
        store = MemoryStore(open_client(folder / "source"), embedder)
        store.remember("ana", "p", [NewMemory(t, "user", "s") for t in texts])
        export = folder / "memories.jsonl"
        export.write_text("\n".join(store.export_jsonl("ana", "p")) + "\n")
        env = dict(
            os.environ, PERSONALAB_MEMORY_DIR=str(folder / "target"), PERSONALAB_SEED_PERSONAS="0"
        )
        args = [
            sys.executable,
            "-m",
            "personalab",
            "memory",
            "import",
            "--user",
            "ana",
            "--persona",
            "lena-vegan-marathoner",
            str(export),
        ]
        proc = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
        time.sleep(after_s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        check = [
            sys.executable,
            "-m",
            "personalab",
            "memory",
            "list",
            "--user",
            "ana",
            "--persona",
            "lena-vegan-marathoner",
            "--json",
        ]
        listed = subprocess.run(check, env=env, capture_output=True, text=True, timeout=600)
        left = len(json.loads(listed.stdout)) if listed.returncode == 0 else None
        redo = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1200)
        final = subprocess.run(check, env=env, capture_output=True, text=True, timeout=600)
        return {
            "memories": size,
            "killed_after_s": after_s,
            "opens_after_kill": listed.returncode == 0,
            "present_after_kill": left,
            "reimport_ok": redo.returncode == 0,
            "present_after_reimport": len(json.loads(final.stdout or "[]")),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_FIRST_TURN = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.memory.store import MemoryStore, open_client
from personalab.personas.model import Persona
from personalab.settings import Settings
settings = Settings.load()
store = MemoryStore(open_client(Path(sys.argv[1])), Embedder(settings.embedder))
persona = Persona(name="Bench user")
persona.set_id(sys.argv[2])
t1 = time.perf_counter()
Engine(store, None, settings).recall("bench", persona, "What should I do this weekend?", "x")
recall_s = time.perf_counter() - t1
runtime = store.embedder.runtime
print(json.dumps({"start_s": t1 - t0, "first_recall_s": recall_s, "runtime": runtime}))
"""


def first_turn(folder: Path, persona_id: str, cache: Path | None = None) -> dict:
    """A new process on a filled store, as after a restart, timed inside it: imports, store
    and embedder opened (start_s), then the first recall, which loads the scope and is the
    embedder's first inference (first_recall_s). With an empty `cache` folder, as on a
    machine's first start: the embedder is exported for onnxruntime inside start_s, with the
    OS file cache emptied first where this process may (file_cache_dropped says)."""
    folder_lock.release(folder)  # hand the folder over, as the old process would by exiting
    env = os.environ | ({"PERSONALAB_CACHE_DIR": str(cache)} if cache else {})
    dropped = cache is not None and _drop_file_cache()
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_TURN, str(folder), persona_id],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"file_cache_dropped": dropped}


def _drop_file_cache() -> bool:
    """Empty the OS file cache, as on a machine's first start (Linux, as root); whether it did."""
    drop = Path("/proc/sys/vm/drop_caches")
    if not os.access(drop, os.W_OK):
        return False
    os.sync()
    try:
        drop.write_text("3\n")
    except OSError:
        return False
    return True
