"""`bench budget`: the first token against the fact budget, cold and warm, beside the generic
reply's, and the preference probes' recall at each budget: the curve the default is set from."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from personalab.compose import backend_from_settings
from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation import probes
from personalab.memory.store import MemoryStore, open_client
from personalab.personas.library import PersonaLibrary
from personalab.prompts import ColumnKind
from personalab.records import NewMemory
from personalab.settings import Settings

BUDGETS = (300, 600, 900, 1200, 1600, 2000)  # prompt tokens for facts
PERSONA = "lena-vegan-marathoner"
QUESTIONS = (  # a pair per repeat: the first is cold, the second warm
    ("What should I cook for friends on Friday?", "Plan my Saturday for me."),
    ("Which gift should I buy my sister?", "How should I spend a free evening?"),
    ("What should I pack for a weekend away?", "Suggest a lunch I can take to work."),
)


def run(
    embedder: Embedder, settings: Settings, split: str, progress: Callable[[str], None]
) -> dict:
    """Per budget: how many facts the prompt holds, the first token of a persona's first
    message (cold: nothing cached) and of its next (warm), the generic reply's in the same
    compare, and the share of probe facts that reach the prompt."""
    backend = backend_from_settings(settings.replace(max_tokens=8))
    library = PersonaLibrary(settings.personas_dir)
    persona = library.get(PERSONA)
    folder = Path(tempfile.mkdtemp(prefix="personalab-budget-"))
    rows = []
    try:
        store = MemoryStore(open_client(folder), embedder)
        facts = [p.fact for p in probes.load_probes()] + probes.load_turns()
        writer = Engine(store, None, settings.replace(fact_extraction="rules"))
        writer.remember("bench", persona.id, [NewMemory(t, "user", "h") for t in facts])
        stored = len(store.list("bench", persona.id, kind="fact"))
        progress(f"{stored} facts stored for {persona.name}")
        for budget in BUDGETS:
            fixed = settings.replace(fact_token_budget=budget, max_tokens=8, guard="off")
            engine = Engine(store, backend, fixed.replace(fact_extraction="rules"))
            row = _timed(engine, persona) | {"budget": budget}
            recall = probes.run(embedder, fixed, split, ("engine",), progress=lambda _: None)
            row["probe_recall"] = recall["recall"]["engine"]
            progress(f"  budget {budget}: {row}")
            rows.append(row)
        auto = Engine(store, backend, settings).budget.fact_tokens
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"model": backend.name, "window": backend.context_window, "facts_stored": stored,
            "split": split, "auto_budget": auto, "rows": rows}  # fmt: skip


def _timed(engine: Engine, persona) -> dict:
    """Medians over the question pairs; each first token counts recall and planning."""
    kinds = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
    first: dict[str, list[float]] = {"generic": [], "cold": [], "warm": []}
    facts, tokens = [], []
    for pair in QUESTIONS:
        engine.backend.forget_prefixes()
        for turn, question in enumerate(pair):
            started = time.perf_counter()
            generic, personal = engine.compare("bench", persona, question, "s", kinds, False)
            planned = time.perf_counter() - started
            generic.read(), personal.read()
            first["generic"].append(planned + generic.stats.first_token_s)
            first["warm" if turn else "cold"].append(planned + personal.stats.first_token_s)
            facts.append(len(personal.plan.facts))
            tokens.append(personal.plan.prompt_tokens)
    median = statistics.median
    return {
        "facts_in_prompt": round(median(facts)),
        "prompt_tokens": round(median(tokens)),
        **{f"{k}_s": round(median(v), 3) for k, v in first.items()},
    }


def lines(f: dict) -> list[str]:
    """The curve as a Markdown table."""
    out = [
        f"{f['model']}, {f['window']}-token window; one persona with {f['facts_stored']} facts "
        "stored. First token from the moment the compare starts (recall and planning "
        "included), median of 3: cold is a persona's first message with nothing cached, warm "
        "its next; the generic reply of the same compare is the floor. Probe recall: the "
        f"preference probes ({f['split']} split) whose fact reaches the prompt at that budget. "
        f"The automatic budget here is {f['auto_budget']} tokens.",
        "",
        "| fact budget (tokens) | facts in the prompt | prompt tokens | first token: generic "
        "| personalized, cold | personalized, warm | probe recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in f["rows"]:
        out.append(
            f"| {r['budget']} | {r['facts_in_prompt']} | {r['prompt_tokens']} | "
            f"{r['generic_s']} s | {r['cold_s']} s | {r['warm_s']} s | "
            f"{r['probe_recall']:.0%} |"
        )
    return out + ["", f["note"]] if f.get("note") else out
