"""`bench latency`: per-turn recall and writes at 1k-100k memories, beside the floor."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation import bench_memory, probes
from personalab.evaluation.common import QUESTIONS, corpus, log, summary
from personalab.memory.store import MemoryStore, open_client
from personalab.models.backends import EmbeddedBackend
from personalab.personas.model import Persona
from personalab.prompts import ColumnKind
from personalab.records import NewMemory
from personalab.settings import Settings

# Turns that state facts (one, two, and a sentence the rules may leave to the fact model), each
# made new per query; the first of each kind adds a fact, later ones restate or change it.
FACT_TURNS = (
    "I have kept bees for {n} years on allotment {i}. Honey from my own hives is the best part "
    "of summer number {i}.",
    "My sister Ines lives in Porto number {i} and works as a vet.",
    "I am allergic to kiwi fruit number {i}, it makes my mouth itch.",
    "I play the oboe in wind band {i}; rehearsals are on Thursday evenings.",
)


def latency(embedder: Embedder, settings: Settings, sizes: list[int], queries: int, data) -> dict:
    """Per turn, as a chat makes it: recall + prompt, then the exchange written; beside the floor.

    The floor is one MiniLM embedding of a new text plus one Chroma nearest-neighbour query
    (10 results with their texts), measured in the same loop. Every query is a text the
    embedder has not seen, so no cache makes a figure look better than a user's turn.
    """

    persona = Persona(name="Bench user")
    persona.set_id("bench-user")
    # the bundled model, never asked: its tokenizer sizes the prompt, as in a chat
    model = EmbeddedBackend(settings.gguf_path, settings.n_ctx, settings.n_threads)
    results = {}
    for size in sizes:
        folder = Path(tempfile.mkdtemp(prefix="personalab-bench-"))
        try:
            client = open_client(folder)
            store = MemoryStore(client, embedder)
            engine = Engine(store, model, settings.replace(fact_extraction="rules"))
            facts = [p.fact for p in probes.load_probes()]
            engine.remember("bench", persona.id, [NewMemory(f, "user", "facts") for f in facts])
            texts, source = corpus(size - len(facts), data)
            t0 = time.perf_counter()
            for start in range(0, len(texts), 5000):
                chunk = texts[start : start + 5000]
                store.remember("bench", persona.id, [NewMemory(t, "user", "old") for t in chunk])
                log(f"  {size:,}: filled {start + len(chunk) + len(facts):,}")
            fill_s = time.perf_counter() - t0
            collection = store._collection("bench", persona.id)
            rows = {"floor": [], "recall": [], "write": [], "write_cold": [], "write_facts": []}
            parts = {"embed": [], "dense": [], "keyword": [], "fuse": []}
            for i in range(queries):
                q = f"{QUESTIONS[i % len(QUESTIONS)]} (turn {i} at {size})"
                floor_q = f"Floor query {i} at {size}: {QUESTIONS[-1 - i % 8]}"
                # the floor and the recall take turns at going first: neither warms the other
                floor_s = _floor(embedder, collection, floor_q) if i % 2 == 0 else 0.0
                t1 = time.perf_counter()
                recalled = engine.recall("bench", persona, q, "now")
                engine.plan(ColumnKind.PERSONALIZED, q, persona, recalled)
                recall_s = time.perf_counter() - t1
                floor_s = floor_s or _floor(embedder, collection, floor_q)
                t2 = time.perf_counter()
                reply = NewMemory(
                    f"Reply {i} at {size}: here is a plan for you.", "assistant", "now"
                )
                engine.remember("bench", persona.id, [NewMemory(q, "user", "now"), reply])
                t3 = time.perf_counter()
                cold = [
                    NewMemory(f"Cold write {i} at {size}: I went swimming.", "user", "cold"),
                    NewMemory(f"Cold reply {i} at {size}: well done!", "assistant", "cold"),
                ]
                engine.remember("bench", persona.id, cold)
                t4 = time.perf_counter()
                said = FACT_TURNS[i % len(FACT_TURNS)].format(n=i + 2, i=f"{i} at {size}")
                embedder.embed_one(said)  # as the recall before the reply does, untimed
                t5 = time.perf_counter()
                told = [
                    NewMemory(said, "user", "facts"),
                    NewMemory(f"Fact reply {i} at {size}: noted!", "assistant", "facts"),
                ]
                engine.remember("bench", persona.id, told)
                rows["write_facts"].append(time.perf_counter() - t5)
                rows["floor"].append(floor_s)
                rows["recall"].append(recall_s)
                rows["write"].append(t3 - t2)
                rows["write_cold"].append(t4 - t3)
                for name in parts:
                    parts[name].append(recalled.timings_ms.get(name, 0.0) / 1000)
            first = bench_memory.first_turn(folder, persona.id)
            out = {name: summary(v) for name, v in rows.items()}
            if not results:  # once: a machine's first start, the embedder not yet exported
                with tempfile.TemporaryDirectory(prefix="personalab-cache-") as cache:
                    out["first_turn_export"] = bench_memory.first_turn(
                        folder, persona.id, Path(cache)
                    )
            out["parts"] = {name: summary(v) for name, v in parts.items()}
            out["ratio_p50"] = round(out["recall"]["p50_ms"] / out["floor"]["p50_ms"], 2)
            out["ratio_p95"] = round(out["recall"]["p95_ms"] / out["floor"]["p95_ms"], 2)
            out |= {"source": source, "fill_s": round(fill_s, 1), "first_turn": first}
            out["embedder_runtime"] = embedder.runtime
            results[size] = out
            log(
                f"  {size:,}: recall p50 {out['recall']['p50_ms']} ms, floor "
                f"{out['floor']['p50_ms']} ms, ratio {out['ratio_p50']}"
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def _floor(embedder: Embedder, collection, text: str) -> float:
    """One MiniLM embedding of a new text plus one Chroma query of 10 results, in seconds."""
    t0 = time.perf_counter()
    collection.query(query_embeddings=[embedder.embed_one(text)], n_results=10)
    return time.perf_counter() - t0


def print_latency(results: dict) -> None:
    print("\nper-turn latency (p50 / p95 ms); floor = one MiniLM embedding + one Chroma query")
    print(
        f"{'memories':>9}  {'recall+prompt':>15}  {'floor':>15}  {'ratio':>11}  "
        f"{'write turn':>15}  {'write cold':>15}  {'write facts':>15}  first recall"
    )
    for size, r in results.items():

        def pair(x: dict) -> str:
            return f"{x['p50_ms']:6.1f} / {x['p95_ms']:6.1f}"

        print(
            f"{size:>9,}  {pair(r['recall']):>15}  {pair(r['floor']):>15}  "
            f"{r['ratio_p50']:4.2f} / {r['ratio_p95']:4.2f}  {pair(r['write']):>15}  "
            f"{pair(r['write_cold']):>15}  {pair(r['write_facts']):>15}  "
            f"{r['first_turn']['start_s'] + r['first_turn']['first_recall_s']:.2f} s "
            f"({r['first_turn']['first_recall_s']:.2f} s recall)"
        )
    first = next(iter(results.values()), {}).get("first_turn_export")
    if first:
        print(
            f"  a machine's first start (embedder exported for onnxruntime): "
            f"{first['start_s'] + first['first_recall_s']:.2f} s to the first recall"
            f"{' (OS file cache emptied first)' if first.get('file_cache_dropped') else ''}"
        )
    print(
        "  recall+prompt: embed + facts + Chroma query + BM25 + fusion + prompt build; "
        "write turn: the user's message (embedded at recall) and a new reply, facts included; "
        "write cold: both texts new; write facts: a turn that states facts (embedded at "
        "recall) and a new reply; "
        "first recall: timed inside a new process on the store, "
        "imports, store and embedder opened, then its first recall; and that recall alone "
        "(scope load and the embedder's first inference)"
    )
