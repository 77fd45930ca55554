"""Preference probes: does a fact said once, among hundreds of other turns, reach the prompt?"""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from personalab.compose import backend_from_settings, pack_backend
from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.errors import PersonaLabError
from personalab.facts.situations import write_situations
from personalab.memory.store import MemoryStore, open_client
from personalab.personas.model import Persona
from personalab.prompts import ColumnKind, episode_line
from personalab.recall.ranking import recency, within_budget
from personalab.records import NewMemory, ScoredMemory
from personalab.settings import Settings

DATA = Path(__file__).parent / "data"
DAY = 86400.0
SYSTEMS = ("engine", "dense", "legacy")


@dataclass(frozen=True)
class Probe:
    id: str
    split: str
    domain: str
    fact: str
    question: str
    forbid: tuple[str, ...] = ()


def load_probes(path: Path = DATA / "preference_probes.yaml") -> list[Probe]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Probe(
            p["id"], p["split"], p["domain"], p["fact"], p["question"], tuple(p.get("forbid", ()))
        )
        for p in data["probes"]
    ]


def load_turns(path: Path = DATA / "ordinary_turns.yaml") -> list[str]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["turns"])


def history(probes: list[Probe], turns: list[str], seed: int = 7) -> list[tuple[str, str | None]]:
    """Every probe fact and ordinary turn once, shuffled: (text, probe id or None)."""
    items = [(p.fact, p.id) for p in probes] + [(t, None) for t in turns]
    random.Random(seed).shuffle(items)
    return items


def run(
    embedder: Embedder,
    settings: Settings,
    split: str = "test",
    systems: tuple[str, ...] = SYSTEMS,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    expand_with: tuple[str, ...] = (),
) -> dict:
    """Share of probes whose fact reaches the prompt, per system; all probes in one history.
    Then, for each pack in expand_with, the same after that pack wrote where each stored fact
    matters (its situations)."""
    probes, turns = load_probes(), load_turns()
    folder = Path(tempfile.mkdtemp(prefix="personalab-probes-"))
    try:
        store = MemoryStore(open_client(folder), embedder)
        # The chat model itself, loaded but never asked: its window and tokenizer size the prompt
        backend = backend_from_settings(settings)
        rules = settings.replace(fact_extraction="rules", fact_situations="off")
        engine = Engine(store, backend, rules)
        persona = Persona(name="Probe user")
        persona.set_id("probe-user")
        items = history(probes, turns)
        start = time.time() - len(items) * DAY / 4  # four turns a day, ten to a session
        source_of: dict[str, str] = {}
        t0 = time.perf_counter()
        for i, (text, probe_id) in enumerate(items):
            when = start + i * DAY / 4
            turn = NewMemory(text, "user", f"s{i // 10}", created_at=when)
            saved = engine.remember("probe", persona.id, [turn])
            if probe_id:
                source_of[saved.turns[0].id] = probe_id
        progress(f"history of {len(items)} turns written in {time.perf_counter() - t0:.1f} s")
        facts = store.list("probe", persona.id, kind="fact")
        chosen = [p for p in probes if split == "all" or p.split == split]
        hits = {name: [] for name in systems}
        for probe in chosen:
            found = _found(engine, persona, probe.question, systems)
            for name, ids in found.items():
                hits[name].append(any(source_of.get(i) == probe.id for i in ids))
        expanded = {}
        for pack in expand_with:
            expanded[pack] = _expand(store, persona.id, facts, pack, settings, progress)
            with_them = Engine(store, backend, rules.replace(fact_situations="on"))
            hits[f"engine + situations ({pack})"] = [
                any(source_of.get(i) == probe.id for i in _found(
                    with_them, persona, probe.question, ("engine",))["engine"])
                for probe in chosen
            ]  # fmt: skip
        return {
            "split": split,
            "probes": len(chosen),
            "history_turns": len(items),
            "window": backend.context_window,
            "model": backend.name,
            "facts_stored": len(facts),
            "situations": expanded,
            "facts_from_probes": sum(1 for f in facts if any(s in source_of for s in f.sources)),
            "recall": {name: sum(v) / len(v) for name, v in hits.items()},
            "missed": {
                name: [p.id for p, ok in zip(chosen, v, strict=True) if not ok]
                for name, v in hits.items()
            },
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _expand(store, persona_id: str, facts, pack: str, settings: Settings, progress) -> dict:
    """Every stored fact gets the situations pack writes for it; their cost, and examples."""
    writer = pack_backend(pack, settings.replace(temperature=0.0))
    seconds, failed, examples = [], 0, []
    for n, fact in enumerate(facts):
        started = time.perf_counter()
        try:
            found = write_situations(writer, fact)
        except PersonaLabError:
            found, failed = (), failed + 1
        seconds.append(time.perf_counter() - started)
        store.set_situations("probe", persona_id, fact.id, found)
        if len(examples) < 6 and found:
            examples.append({"fact": fact.text, "situations": list(found)})
        if n % 20 == 19:
            progress(f"  situations by {pack}: {n + 1}/{len(facts)} facts")
    return {
        "facts": len(facts),
        "failed": failed,
        "seconds_p50": round(statistics.median(seconds), 2) if seconds else 0.0,
        "examples": examples,
    }


def _found(
    engine: Engine, persona: Persona, question: str, systems: tuple[str, ...]
) -> dict[str, list[str]]:
    """The ids of the turns whose words reach the prompt, per system (facts count by source)."""
    found: dict[str, list[str]] = {}
    if "engine" in systems:
        recalled = engine.recall("probe", persona, question, "now")
        plan = engine.plan(ColumnKind.MEMORY, question, persona, recalled)
        found["engine"] = [s for f in plan.facts for s in f.memory.sources]
        found["engine"] += [m.memory.id for m in plan.memories]
    store, budget = engine.store, engine.budget
    vector = store.embedder.embed_one(question)
    dense = [
        ScoredMemory(store.get("probe", persona.id, i), score=s, similarity=s)
        for i, s in store.dense("probe", persona.id, vector, 40)
    ]
    turns = [h for h in dense if h.memory is not None and h.memory.kind == "turn"]
    if "dense" in systems:  # nearest turns that fit the same episode budget, no floor
        found["dense"] = [
            h.memory.id
            for h in within_budget(turns[:4], budget.episodes, budget.count, episode_line)
        ]
    if "legacy" in systems:  # the engine before facts: floor 0.2, 10 % recency, top 4
        now = time.time()
        ranked = sorted(
            (
                ScoredMemory(
                    h.memory, 0.9 * h.similarity + 0.1 * recency(h.memory.created_at, now, 30)
                )
                for h in turns[:8]
                if h.similarity >= 0.2
            ),
            key=lambda h: -h.score,
        )[:4]
        found["legacy"] = [
            h.memory.id for h in within_budget(ranked, budget.episodes, budget.count, episode_line)
        ]
    return found
