"""Fact layer benchmarks: the offline extractor's precision and recall, and restatement dedup."""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from personalab.embedding.embedder import Embedder
from personalab.errors import PersonaLabError
from personalab.evaluation.probes import DATA, load_turns
from personalab.facts.book import SAME_FACT, FactBook
from personalab.facts.extract import SINGLE, extract, sentences
from personalab.facts.model import FactModel
from personalab.memory.store import MemoryStore, open_client
from personalab.records import Memory, NewMemory
from personalab.settings import Settings

# The floor: every sentence in which the speaker speaks of themselves, that is not a question
_SELF = re.compile(r"\b(?:i|i'm|i've|i'd|my|me|mine|we|we're|our|us)\b")


def _floor(sentence: str) -> bool:
    s = sentence.lower().replace("’", "'").strip()
    return bool(_SELF.search(s)) and not s.endswith("?")


def extractors(embedder: Embedder) -> dict[str, Callable[[str], bool]]:
    """Whether a text states a fact, by what ships (rules and the fact model), by the rules
    alone, and by the first-person floor."""
    model = FactModel.load(embedder)
    judge = model.judge(embedder) if model else None
    return {
        "rules + fact model": lambda text: bool(extract(text, judge)),
        "rules alone": lambda text: bool(extract(text)),
        "first-person floor": lambda text: any(_floor(s) for s in sentences(text)),
    }


def extractor(embedder: Embedder, split: str = "test") -> dict:
    """Precision and recall of 'fact' on labelled sentences: what ships (rules and the fact
    model), the rules alone and the first-person floor; and how many ordinary chat turns each
    turns into facts (the flood)."""
    data = yaml.safe_load((DATA / "fact_sentences.yaml").read_text(encoding="utf-8"))
    chosen = [s for s in data["sentences"] if split == "all" or s["split"] == split]
    turns = load_turns()
    ways = extractors(embedder)
    figures: dict = {"split": split, "sentences": len(chosen), "ordinary_turns": len(turns)}
    for name, is_fact in ways.items():
        said = [(s["label"] == "fact", is_fact(s["text"])) for s in chosen]
        figures[name] = _precision_recall(said) | {
            "flooded_turns": sum(1 for t in turns if is_fact(t))
        }
    return figures


class CosineOnlyBook(FactBook):
    """The peer: a statement merges into the nearest fact when close enough; no slots."""

    @staticmethod
    def match(candidate, vector, facts: list[Memory], vectors: np.ndarray):
        if not facts:
            return None
        sims = vectors @ np.asarray(vector, dtype=np.float32)
        best = int(np.argmax(sims))
        return (facts[best], float(sims[best]), False) if sims[best] >= SAME_FACT else None

    join_loose = False  # each sentence is matched on its own, in order


def dedup(
    embedder: Embedder,
    split: str = "test",
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict:
    """Facts stored after each item is said once and then restated three times in other
    words (all in one scope, round-robin); extra copies and wrong merges, ours beside the
    cosine-only peer."""
    data = yaml.safe_load((DATA / "fact_paraphrases.yaml").read_text(encoding="utf-8"))
    items = [f for f in data["facts"] if split == "all" or f["split"] == split]
    figures: dict = {"split": split, "items": len(items), "statements": 4 * len(items)}
    for name, book_type in (("slots + cosine", FactBook), ("cosine only", CosineOnlyBook)):
        folder = Path(tempfile.mkdtemp(prefix="personalab-dedup-"))
        try:
            store = MemoryStore(open_client(folder), embedder)
            figures[name] = _replay(store, book_type(store).learn, items)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        progress(f"dedup {name}: {figures[name]['facts_stored']} facts for {len(items)} items")
    return figures


def _replay(store: MemoryStore, learn: Callable, items: list[dict]) -> dict:
    owners: dict[str, set[str]] = {}
    taken = 0
    for round_ in range(4):
        for item in items:
            turn = NewMemory(item["statements"][round_], "user", "s")
            saved = store.remember("u", "p", [turn])[0]
            changes = learn("u", "p", saved)
            taken += bool(changes)
            for change in changes:
                owners.setdefault(change.fact.id, set()).add(item["id"])
    stored = store.list("u", "p", kind="fact")
    copies = Counter(i for fact in stored for i in owners.get(fact.id, ()))
    wrong = [fact for fact in stored if len(owners.get(fact.id, ())) > 1]
    return {
        "facts_stored": len(stored),
        "statements_taken": taken,
        "items_with_extra_copies": sum(1 for n in copies.values() if n > 1),
        "items_without_fact": sum(1 for item in items if not copies[item["id"]]),
        "wrong_merges": len(wrong),
        "wrong_merges_one_value_slot": sum(1 for f in wrong if f.key.partition(":")[0] in SINGLE),
    }


def run(
    embedder: Embedder,
    split: str = "test",
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict:
    return {"extractor": extractor(embedder, split), "dedup": dedup(embedder, split, progress)}


def table(figures: dict) -> list[str]:
    """Both figures as markdown tables, ours beside the floor or peer."""
    e, d = figures["extractor"], figures["dedup"]
    rows = [
        f"Offline extractor, {e['sentences']} labelled sentences ({e['split']} split; the fact "
        "model is trained on the dev ones, so only test figures are out of sample); flood: of "
        f"{e['ordinary_turns']} ordinary chat turns, how many yield a fact.",
        "",
        "| extractor | precision | recall | ordinary turns that yield a fact |",
        "|---|---|---|---|",
    ]
    for name in ("rules + fact model", "rules alone", "first-person floor"):
        r = e[name]
        rows.append(
            f"| {name} | {100 * r['precision']:.1f} % | {100 * r['recall']:.1f} % | "
            f"{r['flooded_turns']} |"
        )
    rows += [
        "",
        f"Restatements: {d['items']} facts ({d['split']} split), each said once and then "
        f"three more times in other words, {d['statements']} statements in one scope. "
        f"Right is {d['items']} facts, no item in two facts and no fact holding two items. "
        "The items come from different people, so two people's jobs (or homes) in one "
        "one-value slot count as a wrong merge, though for one person the later value would "
        "replace the earlier: the count of those is in brackets.",
        "",
        "| dedup | facts stored | items with extra copies | wrong merges (in a one-value slot) "
        "| items with no fact |",
        "|---|---|---|---|---|",
    ]
    for name in ("slots + cosine", "cosine only"):
        r = d[name]
        rows.append(
            f"| {name} | {r['facts_stored']} | {r['items_with_extra_copies']} | "
            f"{r['wrong_merges']} ({r.get('wrong_merges_one_value_slot', '?')}) | "
            f"{r['items_without_fact']} |"
        )
    return rows


def llm_packs(
    embedder: Embedder,
    settings: Settings,
    split: str = "test",
    names: tuple[str, ...] = (),
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict:
    """LLM fact extraction with each installed Qwen pack (or those named): precision and
    recall on the labelled sentences and copies after restatements, beside the rules measured
    in the same run."""
    from personalab.compose import backend_from_settings
    from personalab.facts.llm import LLMFactExtractor
    from personalab.models import packs

    data = yaml.safe_load((DATA / "fact_sentences.yaml").read_text(encoding="utf-8"))
    chosen = [s for s in data["sentences"] if split == "all" or s["split"] == split]
    rules = extractor(embedder, split)
    figures: dict = {
        "split": split,
        "sentences": len(chosen),
        "rules": {k: rules[k] for k in ("rules + fact model", "rules alone")},
        "rules_dedup": dedup(embedder, split, progress)["slots + cosine"],
        "packs": {},
    }
    fixed = settings.replace(temperature=0.0, gguf_path="", backend="offline")
    for pack, _ in packs.installed():
        if pack is packs.BUNDLED or (names and pack.name not in names):
            continue
        backend = backend_from_settings(fixed.replace(model=pack.name))
        folder = Path(tempfile.mkdtemp(prefix="personalab-factsllm-"))
        try:
            store = MemoryStore(open_client(folder), embedder)
            llm = Counted(LLMFactExtractor(backend, FactBook(store)))
            labelled = [(s["text"], s["label"] == "fact") for s in chosen]
            row = _precision_recall(llm_said(store, llm, labelled, pack.name, progress))
            items = yaml.safe_load((DATA / "fact_paraphrases.yaml").read_text(encoding="utf-8"))
            items = [f for f in items["facts"] if split == "all" or f["split"] == split]
            row["dedup"] = _replay(store, llm.learn, items)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        row |= llm.figures()
        figures["packs"][pack.name] = row
        progress(f"{pack.name}: {row}")
        del backend, llm
    return figures


def llm_said(store: MemoryStore, llm, labelled: list[tuple[str, bool]], name: str, progress):
    """(gold, found) per text, each learnt by the LLM extractor in a scope of its own."""
    said = []
    for n, (text, gold) in enumerate(labelled):
        turn = store.remember("u", f"s{n}", [NewMemory(text, "user", "s")])
        said.append((gold, bool(llm.learn("u", f"s{n}", turn[0]))))
        if n % 20 == 19:
            progress(f"  {name}: {n + 1}/{len(labelled)} texts")
    return said


class Counted:
    """An LLM extractor that counts unparseable answers (as no fact) and times each turn."""

    def __init__(self, extractor):
        self.extractor = extractor
        self.failed = 0
        self.seconds: list[float] = []

    def learn(self, user: str, persona: str, turn: Memory) -> list:
        started = time.perf_counter()
        try:
            return self.extractor.learn(user, persona, turn)
        except PersonaLabError:
            self.failed += 1
            return []
        finally:
            self.seconds.append(time.perf_counter() - started)

    def figures(self) -> dict:
        p50 = round(statistics.median(self.seconds), 2) if self.seconds else 0.0
        return {"failed_answers": self.failed, "seconds_p50": p50}


def _precision_recall(said: list[tuple[bool, bool]]) -> dict:
    tp = sum(1 for gold, got in said if gold and got)
    return {
        "precision": tp / max(1, sum(1 for _, got in said if got)),
        "recall": tp / max(1, sum(1 for gold, _ in said if gold)),
    }


def llm_table(figures: dict) -> list[str]:
    """The LLM extractors beside the rules, measured in the same run."""
    rows = [
        f"{figures['sentences']} labelled sentences ({figures['split']} split); dedup: facts "
        "stored and items with extra copies after each item is said four ways.",
        "",
        "| extractor | precision | recall | facts stored | items with extra copies | "
        "wrong merges | s per turn |",
        "|---|---|---|---|---|---|---|",
    ]
    d = figures["rules_dedup"]
    for name, r in figures["rules"].items():
        dd = d if name == "rules + fact model" else {}
        rows.append(
            f"| {name} | {100 * r['precision']:.1f} % | {100 * r['recall']:.1f} % | "
            f"{dd.get('facts_stored', '')} | {dd.get('items_with_extra_copies', '')} | "
            f"{dd.get('wrong_merges', '')} | |"
        )
    for name, r in figures["packs"].items():
        dd = r["dedup"]
        rows.append(
            f"| LLM, {name} | {100 * r['precision']:.1f} % | {100 * r['recall']:.1f} % | "
            f"{dd['facts_stored']} | {dd['items_with_extra_copies']} | {dd['wrong_merges']} | "
            f"{r['seconds_p50']} |"
        )
    return rows
