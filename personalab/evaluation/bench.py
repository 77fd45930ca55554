"""Benchmarks that print figures: memory overhead per turn, write time, model speed, app start."""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from personalab.backends import EmbeddedBackend, GenerationOptions
from personalab.embedding import Embedder
from personalab.engine import Engine
from personalab.evaluation.serving import CHROMIUM, launch_chromium, serve_app
from personalab.memory import MemoryStore, NewMemory, open_client
from personalab.personas import PersonaLibrary
from personalab.prompts import ColumnKind, build
from personalab.settings import Settings

LOCOMO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo10.json"
QUESTIONS = [
    "What should I cook tonight?",
    "Plan my Saturday for me.",
    "How can I save money on travel this month?",
    "Which book should I read next?",
    "What snack can I take on a long walk?",
    "How do I learn faster for my exam?",
    "Where should I go on holiday?",
    "What did I tell you about my family?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    p50, p95 = percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000
    return f"p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"


def corpus(n: int) -> tuple[list[str], str]:
    """n memory texts: LoCoMo turns where the data set is present, else generated sentences."""
    path = Path(os.environ.get("PERSONALAB_LOCOMO", LOCOMO))
    texts: list[str] = []
    source = "generated sentences"
    if path.is_file():
        for sample in json.loads(path.read_text()):
            conv = sample["conversation"]
            for key, turns in conv.items():
                if key.startswith("session_") and isinstance(turns, list):
                    texts += [f'{t["speaker"]} said, "{t["text"]}"' for t in turns]
        source = f"LoCoMo turns ({path.name}) + generated"
    rng = random.Random(7)
    subjects = ["my sister", "I", "my coach", "our team", "my landlord", "the doctor"]
    verbs = ["visited", "recommended", "cooked", "cancelled", "booked", "studied"]
    objects = ["a vegan curry", "the museum", "a train to Leeds", "calculus notes", "a 10 km run"]
    times = ["on Monday", "last week", "in March", "yesterday", "this morning"]
    while len(texts) < n:
        parts = [rng.choice(x) for x in (subjects, verbs, objects, times)]
        texts.append(" ".join(parts) + f" (note {len(texts)})")
    return texts[:n], source


def memory_overhead(embedder: Embedder, settings: Settings, sizes: list[int], queries: int) -> dict:
    """Per turn: embed query + search + rank + prompt build; and writing one exchange."""
    persona = PersonaLibrary(settings.personas_dir).load()[0][0]
    results = {}
    for size in sizes:
        folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
        try:
            store = MemoryStore(open_client(folder), embedder)
            texts, source = corpus(size)
            t0 = time.perf_counter()
            store.remember("bench", persona.id, [NewMemory(t, "user", "old") for t in texts])
            fill_s = time.perf_counter() - t0
            engine = Engine(store, _NoModel(settings.n_ctx), settings)
            embed, recall_t, prompt_t, total = [], [], [], []
            for i in range(queries):
                q = QUESTIONS[i % len(QUESTIONS)] + f" #{i}"
                t0 = time.perf_counter()
                embedder.embed_one(q)
                t1 = time.perf_counter()
                memories, recent = engine.recall("bench", persona, q, "now")
                t2 = time.perf_counter()
                build(
                    ColumnKind.PERSONALIZED,
                    q,
                    persona,
                    memories,
                    recent,
                    settings.n_ctx,
                    settings.max_tokens,
                    settings.memory_token_budget,
                )
                t3 = time.perf_counter()
                embed.append(t1 - t0)
                recall_t.append(t2 - t1)
                prompt_t.append(t3 - t2)
                total.append(t3 - t1)
            writes = []
            for i in range(max(20, queries // 5)):
                t0 = time.perf_counter()
                store.remember(
                    "bench",
                    persona.id,
                    [
                        NewMemory(f"question {i}", "user", "w"),
                        NewMemory(f"answer {i}", "assistant", "w"),
                    ],
                )
                writes.append(time.perf_counter() - t0)
            results[size] = {
                "source": source,
                "fill_s": fill_s,
                "embed_query": embed,
                "recall": recall_t,
                "prompt": prompt_t,
                "overhead": total,
                "write_exchange": writes,
            }
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


class _NoModel:
    """Stands in for a model where only recall and prompt building are measured."""

    name, is_local = "none", True

    def __init__(self, context_window: int):
        self.context_window = context_window


def model_speed(settings: Settings, runs: int = 5) -> dict:
    """Time to first token and tokens/s: through the engine vs calling llama.cpp directly."""
    from llama_cpp import Llama

    folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
    try:
        persona = PersonaLibrary(settings.personas_dir).load()[0][0]
        backend = EmbeddedBackend(settings.gguf_path, settings.n_ctx, settings.n_threads)
        threads = settings.n_threads or os.cpu_count() or 1
        direct = Llama(
            model_path=str(backend.path),
            n_ctx=settings.n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        engine = Engine(
            MemoryStore(open_client(folder), Embedder(settings.embedder)),
            backend,
            settings.replace(temperature=0.0),
        )
        options = GenerationOptions(max_tokens=settings.max_tokens, temperature=0.0)
        rows = {"engine": [], "direct": []}
        for i in range(runs):
            q = QUESTIONS[i % len(QUESTIONS)]
            reply = engine.reply("bench", persona, q, f"s{i}")
            reply.read()
            rows["engine"].append(
                (
                    reply.stats.first_token_s,
                    reply.stats.chunks_per_s,
                    len(reply.plan.messages[0].content),
                )
            )
            messages = [{"role": m.role, "content": m.content} for m in reply.plan.messages]
            t0 = time.perf_counter()
            first, n = 0.0, 0
            for chunk in direct.create_chat_completion(
                messages=messages,
                stream=True,
                max_tokens=options.max_tokens,
                temperature=0.0,
                repeat_penalty=options.repeat_penalty,
            ):
                if chunk["choices"][0]["delta"].get("content"):
                    n += 1
                    first = first or time.perf_counter() - t0
            total = time.perf_counter() - t0
            rows["direct"].append((first, (n - 1) / (total - first) if n > 1 else 0.0, 0))
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def app_start() -> dict:
    """Seconds from `streamlit run` to a healthy server, and to the first page in chromium."""
    env = {"PERSONALAB_MEMORY_DIR": tempfile.mkdtemp(prefix="personalab-bench-")}
    t0 = time.perf_counter()
    with serve_app(env) as url:
        result = {"health_s": time.perf_counter() - t0, "first_page_s": None}
        if Path(CHROMIUM).exists():
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                t1 = time.perf_counter()
                browser = launch_chromium(p)
                page = browser.new_page()
                result["browser_launch_s"] = time.perf_counter() - t1
                t2 = time.perf_counter()
                page.goto(url)
                page.get_by_test_id("stChatInputTextArea").wait_for(timeout=120_000)
                result["first_page_s"] = time.perf_counter() - t2
                browser.close()
    return result


def run(settings: Settings, sizes: list[int], queries: int, app: bool = True) -> int:
    """Run every benchmark, print the figures and save them as JSON under bench-results/."""
    print(f"PersonaLab benchmarks · {os.cpu_count()} cores · python {sys.version.split()[0]}")
    t0 = time.perf_counter()
    embedder = Embedder(settings.embedder)
    print(f"embedder load (incl. import): {time.perf_counter() - t0:.2f} s")
    overhead = memory_overhead(embedder, settings, sizes, queries)
    for size, r in overhead.items():
        print(f"\nmemory at {size:,} stored ({r['source']}; filled in {r['fill_s']:.1f} s)")
        print(f"  embed query            {ms(r['embed_query'])}")
        print(
            f"  recall                 {ms(r['recall'])}   (embed + session turns + search + rank)"
        )
        print(f"  prompt build           {ms(r['prompt'])}")
        print(f"  per-turn overhead      {ms(r['overhead'])}   (embed + search + rank + prompt)")
        print(f"  write one exchange     {ms(r['write_exchange'])}   (embed 2 turns + add)")
    speed = model_speed(settings)
    print("\noffline model (bundled SmolLM2-135M Q4_1), same prompts, temperature 0")
    for way, rows in speed.items():
        ttft = statistics.median(r[0] for r in rows)
        tps = statistics.median(r[1] for r in rows)
        print(
            f"  {way:7} first token p50 {ttft:.3f} s, decode {tps:.1f} tokens/s ({len(rows)} runs)"
        )
    start = app_start() if app else {}
    if start:
        print(f"\napp start: `streamlit run` to a healthy server {start['health_s']:.2f} s")
        if start["first_page_s"] is None:
            print("  first page: not measured (no /usr/bin/chromium)")
        else:
            print(
                f"  first page: chat input shown {start['first_page_s']:.2f} s after page.goto "
                f"(chromium launch before it: {start['browser_launch_s']:.2f} s)"
            )
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    path = out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"overhead": overhead, "speed": speed, "app": start}, indent=1))
    print(f"\nraw figures: {path}")
    return 0
