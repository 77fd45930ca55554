"""`python -m personalab bench`: recall quality, latency beside its floor, model, app."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation import bench_facts, faithfulness, locomo, probes
from personalab.evaluation.common import LOCOMO, QUESTIONS, log
from personalab.memory.store import MemoryStore, open_client
from personalab.models.backends import EmbeddedBackend, GenerationOptions
from personalab.settings import Settings


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

    from personalab.personas.library import PersonaLibrary

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
    packs: tuple[str, ...] = (),
    sessions: int = 20,
    served_by: str = "both",
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
        figures["probes"] = probes.run(embedder, settings, split, progress=log, expand_with=packs)
        wide = settings.replace(n_ctx=8192)  # the same model with an 8k window
        wider = probes.run(embedder, wide, split, ("engine",), progress=log)
        figures["probes"]["recall"]["engine-8k"] = wider["recall"]["engine"]
    if what in ("all", "facts"):
        figures["facts"] = bench_facts.run(embedder, split, progress=log)
    if what in ("all", "latency"):
        from personalab.evaluation.bench_latency import latency

        figures["latency"] = latency(embedder, settings, sizes, queries, data)
    if what in ("all", "faithfulness", "defaults"):
        from personalab.compose import backend_from_settings, judge_from_settings

        backend = backend_from_settings(settings)
        judge = judge_from_settings(settings)
        if what == "defaults":
            figures["defaults"] = faithfulness.defaults_grid(backend, embedder, settings, samples=4)
        else:
            figures["faithfulness"] = faithfulness.run(
                backend,
                embedder,
                settings,
                split,
                judge=judge,
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
    if what == "models":
        from personalab.evaluation import bench_models

        figures["models"] = bench_models.run(embedder, settings, split, packs)
    if what == "judge":
        from personalab.evaluation import bench_judge

        figures["judge"] = bench_judge.run(embedder, settings, split)
    if what == "facts-real":
        from personalab.evaluation import bench_real_facts

        figures["facts_real"] = bench_real_facts.run(embedder, settings, data, split, packs, log)
    if what == "poison":
        from personalab.evaluation import bench_poison

        chosen = packs or tuple(dict.fromkeys((settings.model, bench_poison.STRONGER)))
        figures["poison"] = bench_poison.run(embedder, settings, chosen, split, log, data)
    if what == "budget":
        from personalab.evaluation import bench_budget

        figures["budget"] = bench_budget.run(embedder, settings, split, log)
    if what == "room":
        from personalab.evaluation import bench_room

        figures["room"] = bench_room.run(settings, sessions, log, served_by)
    if what == "facts-llm":
        figures["facts_llm"] = bench_facts.llm_packs(embedder, settings, split, packs, log)
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
        for pack, f in p.get("situations", {}).items():
            print(f"  situations by {pack}: {f['seconds_p50']} s per fact, {f['failed']} failed")
    if "facts" in figures:
        print("\nfact layer\n" + "\n".join(bench_facts.table(figures["facts"])))
    if "latency" in figures:
        from personalab.evaluation.bench_latency import print_latency

        print_latency(figures["latency"])
    if "faithfulness" in figures:
        print_faithfulness(figures["faithfulness"])
    if "models" in figures:
        from personalab.evaluation.bench_models import print_models

        print_models(figures["models"])
    if "judge" in figures:
        from personalab.evaluation.bench_judge import print_judge

        print_judge(figures["judge"])
    if "facts_real" in figures:
        from personalab.evaluation.bench_real_facts import lines

        print("\nfacts on real turns\n" + "\n".join(lines(figures["facts_real"])))
    if "facts_llm" in figures:
        print("\nLLM fact extraction\n" + "\n".join(bench_facts.llm_table(figures["facts_llm"])))
    if "poison" in figures:
        from personalab.evaluation.bench_poison import lines as poison_lines

        print("\n" + "\n".join(poison_lines(figures["poison"])))
    if "budget" in figures:
        from personalab.evaluation.bench_budget import lines as budget_lines

        print("\nfirst token against the fact budget")
        print("\n".join(budget_lines(figures["budget"])))
    if "room" in figures:
        from personalab.evaluation.bench_room import lines as room_lines

        print(f"\na room of {figures['room']['sessions']} browser sessions on one app")
        print("\n".join(room_lines(figures["room"])))
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
