"""`bench facts-real`: fact extraction on real conversation turns (LoCoMo), labelled by hand
against written criteria: precision and recall per extractor, with Wilson intervals."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from personalab.embedding.embedder import Embedder
from personalab.evaluation.bench_facts import Counted, extractors, llm_said
from personalab.evaluation.common import share
from personalab.evaluation.probes import DATA
from personalab.settings import Settings

LABELS = DATA / "fact_labels.yaml"
GOAL = {"precision": 0.8, "recall": 0.7}  # on the test turns (conversations 6-10)


def labelled(locomo: Path, split: str = "test") -> list[tuple[str, bool]]:
    """(turn text, is a durable fact) for the labelled turns of a split; the text is read from
    LoCoMo's own file, never copied into the repository."""
    conversations = json.loads(locomo.read_text(encoding="utf-8"))
    marks = yaml.safe_load(LABELS.read_text(encoding="utf-8"))["turns"]
    texts = {}
    for n, sample in enumerate(conversations):
        for key, turns in sample["conversation"].items():
            if key.startswith("session_") and isinstance(turns, list):
                texts.update({(n, t["dia_id"]): t["text"] for t in turns})
    return [
        (texts[(m["conv"], m["dia_id"])], bool(m["fact"]))
        for m in marks
        if split == "all" or m["split"] == split
    ]


def rates(said: list[tuple[bool, bool]]) -> dict:
    """Precision and recall of 'fact', each with a Wilson interval."""
    tp = sum(1 for gold, got in said if gold and got)
    found = share(tp, sum(1 for _, got in said if got))
    recall = share(tp, sum(1 for gold, _ in said if gold))
    met = found["rate"] >= GOAL["precision"] and recall["rate"] >= GOAL["recall"]
    return {"precision": found, "recall": recall, "goal_met": met}


def run(
    embedder: Embedder,
    settings: Settings,
    locomo: Path,
    split: str = "test",
    packs: tuple[str, ...] = (),
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict:
    """Every extractor on the same labelled turns: the rules with and without the fact model,
    the first-person floor, the LLM extraction of each pack named, and what ships confirmed
    by each LLM."""
    turns = labelled(locomo, split)
    gold = [fact for _, fact in turns]
    ways = extractors(embedder)
    said = {name: [is_fact(text) for text, _ in turns] for name, is_fact in ways.items()}
    extra: dict[str, dict] = {}
    for name in packs:
        llm, extra[f"LLM, {name}"] = _llm(embedder, settings, name, turns, progress)
        said[f"LLM, {name}"] = llm
        # The LLM as a second opinion on what ships: a turn yields a fact when both say so.
        shipped = said["rules + fact model"]
        said[f"rules + fact model, confirmed by LLM {name}"] = [
            a and b for a, b in zip(shipped, llm, strict=True)
        ]
    return {
        "split": split,
        "turns": len(turns),
        "facts": sum(gold),
        "extractors": {
            name: rates(list(zip(gold, found, strict=True))) | extra.get(name, {})
            for name, found in said.items()
        },
    }


def _llm(embedder, settings, name: str, turns, progress) -> tuple[list[bool], dict]:
    from personalab.compose import backend_from_settings
    from personalab.facts.book import FactBook
    from personalab.facts.llm import LLMFactExtractor
    from personalab.memory.store import MemoryStore, open_client

    fixed = settings.replace(temperature=0.0, gguf_path="", backend="offline", model=name)
    backend = backend_from_settings(fixed)
    folder = Path(tempfile.mkdtemp(prefix="personalab-realfacts-"))
    try:
        store = MemoryStore(open_client(folder), embedder)
        llm = Counted(LLMFactExtractor(backend, FactBook(store)))
        found = [got for _, got in llm_said(store, llm, turns, name, progress)]
        return found, llm.figures()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _rate(p: dict) -> str:
    """A precision with its interval, or what it means when nothing was called a fact."""
    if not p["n"]:
        return "none called a fact"
    return f"{p['rate']:.0%} ({p['ci'][0]:.0%}-{p['ci'][1]:.0%})"


def lines(f: dict) -> list[str]:
    """The figures as a Markdown table, the goal under it."""
    out = [
        f"{f['turns']} LoCoMo turns ({f['split']}), {f['facts']} of them durable facts by the "
        "written criteria.",
        "",
        "| extractor | precision (95 % CI) | recall (95 % CI) | goal met | s per turn (p50) "
        "| unparseable answers |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in f["extractors"].items():
        p, c = r["precision"], r["recall"]
        out.append(
            f"| {name} | {_rate(p)} "
            f"| {c['rate']:.0%} ({c['ci'][0]:.0%}-{c['ci'][1]:.0%}) "
            f"| {'yes' if r['goal_met'] else 'no'} | {r.get('seconds_p50', '-')} "
            f"| {r.get('failed_answers', '-')} |"
        )
    out += ["", f"Goal on the test turns: precision at least {GOAL['precision']:.0%} at recall "
            f"at least {GOAL['recall']:.0%}."]  # fmt: skip
    return out
