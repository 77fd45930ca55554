"""Compare wall time: columns at once on a parallel server (and queued in process) vs one answer."""

from __future__ import annotations

import itertools
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation.serving import LLAMA_SERVER, llama_server
from personalab.memory.store import MemoryStore, open_client
from personalab.models.backends import EmbeddedBackend, bundled_gguf_path
from personalab.models.remote import OpenAIBackend
from personalab.personas.library import PersonaLibrary
from personalab.prompts import ColumnKind
from personalab.settings import Settings
from personalab.stage.columns import stream_columns

QUESTIONS = [
    "What should I cook tonight?",
    "Plan my Saturday for me.",
    "How can I save money this month?",
    "Which book should I read next?",
    "Where should I go on holiday?",
]
ALL = [ColumnKind.GENERIC, ColumnKind.PERSONA, ColumnKind.MEMORY, ColumnKind.PERSONALIZED]


def _wall(engine: Engine, persona, question: str, kinds: list, concurrent: bool) -> float:
    """A compare as the page makes it: recall and prompts included, then every column."""
    start = time.perf_counter()
    replies = engine.compare("bench", persona, question, "s", kinds, remember=False)
    for event in stream_columns(replies, concurrent):
        if event.kind == "error":
            raise RuntimeError(event.text)
    return time.perf_counter() - start


def _raw_wall(client: openai.OpenAI, engine: Engine, persona, question: str, kinds: list) -> float:
    """The peer: the same prompts sent straight to the server with the openai client, at once;
    timed like `_wall`, from before recall."""
    start = time.perf_counter()
    plans = [r.plan for r in engine.compare("bench", persona, question, "s", kinds, remember=False)]

    def one(messages: list) -> None:
        stream = client.chat.completions.create(
            model="smollm2",
            messages=[{"role": m.role, "content": m.content} for m in messages],
            temperature=0.0,
            max_tokens=engine.options.max_tokens,
            stream=True,
        )
        for _ in stream:
            pass

    with ThreadPoolExecutor(len(plans)) as pool:
        list(pool.map(one, [p.messages for p in plans]))
    return time.perf_counter() - start


def measure(engine: Engine, persona, concurrent: bool, runs: int, wall=None) -> dict:
    """Per question: each kind alone, then 2 and 4 columns at once; ratios to the slower one.

    Every call words its question a little differently, as a new message is: a server's
    prompt cache then holds what precedes the message (as in real use), never a whole prompt
    that an earlier call of this loop sent.
    """
    timed = wall or (lambda question, kinds: _wall(engine, persona, question, kinds, concurrent))
    asked = itertools.count()

    def new_wall(question: str, kinds: list) -> float:
        return timed(f"{question} (ask {next(asked)})", kinds)

    rows = {"two": [], "four": []}
    for i in range(runs):
        question = QUESTIONS[i % len(QUESTIONS)]
        single = {k: new_wall(question, [k]) for k in ALL}
        two = new_wall(question, [ColumnKind.GENERIC, ColumnKind.PERSONALIZED])
        four = new_wall(question, ALL)
        slower_two = max(single[ColumnKind.GENERIC], single[ColumnKind.PERSONALIZED])
        rows["two"].append((two, slower_two))
        rows["four"].append((four, max(single.values())))
    return {
        name: {
            "wall_s": round(statistics.median(w for w, _ in pairs), 3),
            "slower_single_s": round(statistics.median(s for _, s in pairs), 3),
            "ratio": round(statistics.median(w / s for w, s in pairs), 3),
        }
        for name, pairs in rows.items()
    }


def run(settings: Settings, embedder: Embedder, runs: int = 5) -> dict:
    """Against llama.cpp's own server with 4 parallel slots (built by `make llama-server`),
    then with the in-process model, where columns queue."""
    persona = PersonaLibrary(settings.personas_dir).get("lena-vegan-marathoner")
    folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
    fixed = settings.replace(temperature=0.0, max_tokens=96, guard="off", seed_personas=False)
    out: dict = {}
    try:
        store = MemoryStore(open_client(folder), embedder)
        if LLAMA_SERVER.is_file():
            with llama_server(bundled_gguf_path(), slots=4) as (url, _):
                backend = OpenAIBackend("smollm2", base_url=url, timeout_s=300)
                engine = Engine(store, backend, fixed)
                out["server"] = measure(engine, persona, True, runs)
                client = openai.OpenAI(base_url=url, api_key="none", timeout=300)
                raw = lambda question, kinds: _raw_wall(client, engine, persona, question, kinds)  # noqa: E731
                out["server_alone"] = measure(engine, persona, True, runs, raw)
        else:
            print(
                f"no llama.cpp server at {LLAMA_SERVER}: run `make llama-server`", file=sys.stderr
            )
        backend = EmbeddedBackend(settings.gguf_path, settings.n_ctx, settings.n_threads)
        out["in_process"] = measure(Engine(store, backend, fixed), persona, False, runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out["lines"] = lines(out)
    return out


def lines(out: dict) -> list[str]:
    """The figures as report lines."""
    text = []
    for where, label in (
        ("server", "llama.cpp server, 4 parallel slots"),
        ("server_alone", "the same requests sent straight to that server (the peer)"),
        ("in_process", "in-process model (columns queue)"),
    ):
        if where not in out:
            continue
        for n, key in (("2", "two"), ("4", "four")):
            r = out[where][key]
            tail = (
                f"added waiting {r['wall_s'] - r['slower_single_s']:.2f} s"
                if where == "in_process"
                else "goal: at most 1.15x"
            )
            text.append(
                f"- {label}: {n} columns at once took {r['wall_s']:.2f} s, the slower single "
                f"answer {r['slower_single_s']:.2f} s: {r['ratio']:.2f}x ({tail})"
            )
    return text
