"""`python -m personalab bench`: recall quality, latency beside its floor, model, app."""

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
from personalab.evaluation import bench_facts, faithfulness, locomo, probes
from personalab.memory import MemoryStore, open_client
from personalab.personas import Persona
from personalab.prompts import ColumnKind
from personalab.records import NewMemory
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


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    """p50 and p95 in milliseconds."""
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
    }


def corpus(n: int, data: Path | None) -> tuple[list[str], str]:
    """n memory texts: LoCoMo turns where the data set is present, then generated sentences."""
    texts: list[str] = []
    source = "generated sentences"
    if data is not None and data.is_file():
        texts = [text for conv in locomo.load(data) for _, text, _, _ in conv.turns]
        source = f"LoCoMo turns ({data.name}), then generated sentences"
    rng = random.Random(7)
    subjects = ["my sister", "I", "my coach", "our team", "my landlord", "the doctor"]
    verbs = ["visited", "recommended", "cooked", "cancelled", "booked", "studied"]
    objects = ["a vegan curry", "the museum", "a train to Leeds", "calculus notes", "a 10 km run"]
    times = ["on Monday", "last week", "in March", "yesterday", "this morning"]
    while len(texts) < n:
        parts = [rng.choice(x) for x in (subjects, verbs, objects, times)]
        texts.append(" ".join(parts) + f" (note {len(texts)})")
    return texts[:n], source


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
    from personalab.evaluation import bench_memory  # it imports this module

    persona = Persona(name="Bench user")
    persona._file_id = "bench-user"
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
            out["parts"] = {name: summary(v) for name, v in parts.items()}
            out["ratio_p50"] = round(out["recall"]["p50_ms"] / out["floor"]["p50_ms"], 2)
            out["ratio_p95"] = round(out["recall"]["p95_ms"] / out["floor"]["p95_ms"], 2)
            out |= {"source": source, "fill_s": round(fill_s, 1), "first_turn": first}
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
    print(
        "  recall+prompt: embed + facts + Chroma query + BM25 + fusion + prompt build; "
        "write turn: the user's message (embedded at recall) and a new reply, facts included; "
        "write cold: both texts new; write facts: a turn that states facts (embedded at "
        "recall) and a new reply; "
        "first recall: timed inside a new process on the store, "
        "imports, store and embedder opened, then its first recall; and that recall alone "
        "(scope load and the embedder's first inference)"
    )


def print_faithfulness(f: dict) -> None:
    print(
        f"\nconstraint probes ({f['split']} split, {f['probes']} probes x {f['samples']} "
        f"sample; {f['model']}, temperature {f['temperature']})"
    )
    print(
        f"{'':14} {'violations':>10} {'of target':>9} {'mentions':>8} {'refusals':>8} "
        f"{'reply p50':>9} {'mean':>6}"
    )
    for name, r in f["systems"].items():
        print(
            f"{name:14} {100 * r['violation_rate']:9.1f}% {100 * r['target_violation_rate']:8.1f}% "
            f"{100 * r['mention_rate']:7.1f}% {100 * r['refusal_rate']:7.1f}% "
            f"{r['seconds_p50']:8.2f}s {r['seconds_mean']:5.2f}s"
        )
        if "judge" in r:
            print("  judge: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["judge"].items()))


def model_speed(settings: Settings, runs: int = 5) -> dict:
    """Time to first token and tokens/s: through the engine vs calling llama.cpp directly."""
    from llama_cpp import Llama

    from personalab.library import PersonaLibrary

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
            reply = engine.reply("bench", persona, QUESTIONS[i % len(QUESTIONS)], f"s{i}")
            reply.read()
            rows["engine"].append((reply.stats.first_token_s, reply.stats.chunks_per_s))
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
            rows["direct"].append((first, (n - 1) / (total - first) if n > 1 else 0.0))
        return {
            way: {
                "first_token_s": round(statistics.median(r[0] for r in rs), 3),
                "tokens_per_s": round(statistics.median(r[1] for r in rs), 1),
                "runs": len(rs),
            }
            for way, rs in rows.items()
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def app_start() -> dict:
    """Seconds from `streamlit run` to a healthy server, and to the first page in chromium."""
    from personalab.evaluation.serving import CHROMIUM, launch_chromium, serve_app

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


def run(
    settings: Settings,
    what: str,
    sizes: list[int],
    queries: int,
    data: Path | None,
    split: str,
    as_json: bool,
) -> int:
    """Run one benchmark or all; figures to stdout (JSON with --json), progress to stderr."""
    data = data or Path(os.environ.get("PERSONALAB_LOCOMO", LOCOMO))
    log(f"PersonaLab benchmarks · {os.cpu_count()} cores · python {sys.version.split()[0]}")
    t0 = time.perf_counter()
    embedder = Embedder(settings.embedder)
    log(f"embedder load (incl. import): {time.perf_counter() - t0:.2f} s")
    figures: dict = {}
    if what in ("all", "locomo"):
        if data.is_file():
            figures["locomo"] = locomo.run(embedder, data, progress=log)
        else:
            log(f"LoCoMo skipped: no data set at {data} (pass --data PATH)")
    if what in ("all", "probes"):
        figures["probes"] = probes.run(embedder, settings, split, progress=log)
        wide = settings.replace(n_ctx=8192)  # the bundled model at its full 8k window
        wider = probes.run(embedder, wide, split, ("engine",), progress=log)
        figures["probes"]["recall"]["engine-8k"] = wider["recall"]["engine"]
    if what in ("all", "facts"):
        figures["facts"] = bench_facts.run(embedder, split, progress=log)
    if what in ("all", "latency"):
        figures["latency"] = latency(embedder, settings, sizes, queries, data)
    if what in ("all", "faithfulness", "defaults"):
        from personalab.backends import backend_from_settings, judge_backend
        from personalab.judge import Judge

        backend = backend_from_settings(settings)
        judged = judge_backend(settings)
        if what == "defaults":
            figures["defaults"] = faithfulness.defaults_grid(backend, embedder, settings, samples=4)
        else:
            figures["faithfulness"] = faithfulness.run(
                backend,
                embedder,
                settings,
                split,
                judge=Judge(judged) if judged else None,
                progress=log,
            )
    if what in ("all", "compare"):
        from personalab.evaluation import bench_stage

        figures["compare"] = bench_stage.run(settings, embedder)
    if what in ("all", "memory"):
        from personalab.evaluation import bench_memory

        figures["memory"] = {
            "stores": bench_memory.stores(embedder, settings, 100, 1000, queries),
            "round_trip": bench_memory.round_trip(embedder),
            "killed_import": bench_memory.killed_import(embedder),
        }
    if what in ("all", "speed"):
        figures["speed"] = model_speed(settings)
    if what in ("all", "app"):
        figures["app"] = app_start()
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    path = out / f"bench-{what}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(figures, indent=1, default=str))
    log(f"raw figures: {path}")
    if as_json:
        print(json.dumps(figures["locomo"] if what == "locomo" else figures, indent=1))
        return 0
    report(figures)
    return 0


def report(figures: dict) -> None:
    """The figures as plain text, each beside its floor or peer."""
    if "locomo" in figures:
        print("\nLoCoMo turn-evidence recall@k (%), weights tuned on conversations 1-5 only")
        print(locomo.table(figures["locomo"]))
    if "probes" in figures:
        p = figures["probes"]
        print(
            f"\npreference probes ({p['split']} split, {p['probes']} probes, one history of "
            f"{p['history_turns']} turns; {p['facts_stored']} facts stored): fact reaches "
            "the prompt"
        )
        for name, value in p["recall"].items():
            print(f"  {name:9} {100 * value:5.1f} %")
    if "facts" in figures:
        print("\nfact layer\n" + "\n".join(bench_facts.table(figures["facts"])))
    if "latency" in figures:
        print_latency(figures["latency"])
    if "faithfulness" in figures:
        print_faithfulness(figures["faithfulness"])
    if "defaults" in figures:
        print("\nsampling and prompt layout, personalized replies on the dev probes")
        print(
            f"{'temperature':>11} {'reminder':>8} {'violations':>10} {'refusals':>8} {'p50 s':>6}"
        )
        for r in figures["defaults"]:
            print(
                f"{r['temperature']:>11} {str(r['reminder']):>8} "
                f"{100 * r['violation_rate']:9.1f}% {100 * r['refusal_rate']:7.1f}% "
                f"{r['seconds_p50']:6.2f}"
            )
    if "compare" in figures:
        print("\ncompare: columns at once beside the slower single answer")
        print("\n".join(figures["compare"]["lines"]))
    if "memory" in figures:
        print("\nmemory control")
        print(json.dumps(figures["memory"], indent=1))
    if "speed" in figures:
        print("\noffline model (bundled SmolLM2-135M Q4_1), same prompts, temperature 0")
        for way, r in figures["speed"].items():
            print(
                f"  {way:7} first token p50 {r['first_token_s']:.3f} s, "
                f"decode {r['tokens_per_s']:.1f} tokens/s ({r['runs']} runs)"
            )
    if "app" in figures:
        a = figures["app"]
        print(f"\napp start: `streamlit run` to a healthy server {a['health_s']:.2f} s")
        if a["first_page_s"] is None:
            print("  first page: not measured (no /usr/bin/chromium)")
        else:
            print(
                f"  first page: chat input shown {a['first_page_s']:.2f} s after page.goto "
                f"(chromium launch before it: {a['browser_launch_s']:.2f} s)"
            )
