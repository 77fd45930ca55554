"""LoCoMo turn-evidence recall@k for dense, BM25 and fused recall, through the real memory store."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from personalab.embedding.embedder import Embedder
from personalab.memory.store import MemoryStore, open_client
from personalab.recall.ranking import RecallPolicy, recall
from personalab.records import NewMemory

KS = (5, 10, 25, 50)
METHODS = ("dense", "bm25", "fused")
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
# Published turn-retrieval recall of the DRAGON retriever (LoCoMo paper, Table 3).
DRAGON = {5: 0.567, 10: 0.662, 25: 0.767, 50: 0.827}
SPLITS = {"1-5": range(0, 5), "6-10": range(5, 10), "all": range(0, 10)}


@dataclass(frozen=True)
class Question:
    text: str
    evidence: tuple[str, ...]
    category: int


@dataclass(frozen=True)
class Conversation:
    turns: list[tuple[str, str, float, str]]  # (dia_id, text, time, session)
    questions: list[Question]


def load(path: Path) -> list[Conversation]:
    """LoCoMo's conversations; a turn is `{speaker} said, "{text}"` (+ ` and shared {caption}`)."""
    conversations = []
    for sample in json.loads(Path(path).read_text(encoding="utf-8")):
        conv = sample["conversation"]
        turns, n = [], 1
        while f"session_{n}" in conv:
            start = _parse_date(conv[f"session_{n}_date_time"])
            for i, t in enumerate(conv[f"session_{n}"]):
                text = f'{t["speaker"]} said, "{t["text"]}"'
                if t.get("blip_caption"):
                    text += f" and shared {t['blip_caption']}"
                turns.append((t["dia_id"], text, start + i, f"D{n}"))
            n += 1
        questions = [
            Question(
                q["question"],
                tuple(x for e in q.get("evidence", []) for x in re.split(r"[;,\s]+", e) if x),
                int(q["category"]),
            )
            for q in sample["qa"]
        ]
        conversations.append(Conversation(turns, questions))
    return conversations


def _parse_date(text: str) -> float:
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").timestamp()


def evidence_recall(found: list[str], evidence: tuple[str, ...], k: int) -> float:
    """The official partial credit: the share of evidence ids in the top k (1 without evidence)."""
    if not evidence:
        return 1.0
    top = set(found[:k])
    return sum(e in top for e in evidence) / len(evidence)


def run(
    embedder: Embedder,
    data: Path,
    conversations: list[int] | None = None,
    methods: tuple[str, ...] = METHODS,
    policy: RecallPolicy | None = None,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[dict]:
    """Rows {method, split, k, recall, by_category}; each conversation in its own memory scope."""
    convs = load(data)
    chosen = conversations if conversations is not None else list(range(len(convs)))
    scores: dict[tuple[str, int], list[tuple[int, int, float]]] = defaultdict(list)
    folder = Path(tempfile.mkdtemp(prefix="personalab-locomo-"))
    try:
        store = MemoryStore(open_client(folder), embedder)
        for ci in chosen:
            t0 = time.perf_counter()
            conv = convs[ci]
            user = f"locomo-{ci + 1}"
            stored = store.remember(
                user,
                "locomo",
                [
                    NewMemory(text, "user", session, created_at=when, metadata={"dia_id": dia})
                    for dia, text, when, session in conv.turns
                ],
            )
            dia_of = {m.id: m.metadata["dia_id"] for m in stored}
            now = max(when for _, _, when, _ in conv.turns) + 86400
            deep = dataclasses.replace(policy or RecallPolicy(), episodes=max(KS))
            for q in conv.questions:
                found = _rank(store, user, q.text, methods, deep, now)
                for method, ids in found.items():
                    dias = [dia_of[i] for i in ids]
                    for k in KS:
                        scores[(method, k)].append(
                            (ci, q.category, evidence_recall(dias, q.evidence, k))
                        )
            progress(
                f"conversation {ci + 1}: {len(conv.turns)} turns, "
                f"{len(conv.questions)} questions, {time.perf_counter() - t0:.1f} s"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _rows(scores, chosen)


def _rank(store, user, question, methods, policy, now) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if "fused" in methods:
        result = recall(store, user, "locomo", question, "-", policy, recent_turns=0, now=now)
        found["fused"] = [h.memory.id for h in result.episodes]
    if "dense" in methods:
        vector = store.embedder.embed_one(question)
        hits = store.dense(user, "locomo", vector, max(policy.candidates, max(KS)))
        found["dense"] = [i for i, _ in hits][: max(KS)]
    if "bm25" in methods:
        hits = store.scope(user, "locomo").keyword.search(question, max(KS))
        found["bm25"] = [i for i, _ in hits]
    return found


def _rows(scores, chosen: list[int]) -> list[dict]:
    rows = []
    splits = {name: list(m) for name, m in SPLITS.items() if set(m) <= set(chosen)}
    if not splits:
        splits = {"chosen": chosen}
    for split, members in splits.items():
        for (method, k), values in sorted(scores.items()):
            picked = [(cat, v) for c, cat, v in values if c in members]
            by_cat: dict[str, list[float]] = defaultdict(list)
            for cat, v in picked:
                by_cat[CATEGORIES.get(cat, str(cat))].append(v)
            rows.append(
                {
                    "method": method,
                    "split": split,
                    "k": k,
                    "recall": round(sum(v for _, v in picked) / len(picked), 4),
                    "questions": len(picked),
                    "by_category": {
                        c: round(sum(v) / len(v), 4) for c, v in sorted(by_cat.items())
                    },
                }
            )
    return rows


def table(rows: list[dict]) -> str:
    """A plain-text table: recall@k per method and split, DRAGON beside it."""
    lines = [f"{'method':8} {'split':6} " + " ".join(f"R@{k:<5}" for k in KS)]
    by = defaultdict(dict)
    for r in rows:
        by[(r["method"], r["split"])][r["k"]] = r["recall"]
    for (method, split), values in sorted(by.items(), key=lambda x: (x[0][1], x[0][0])):
        cells = " ".join(f"{100 * values.get(k, 0):6.1f}" for k in KS)
        lines.append(f"{method:8} {split:6} {cells}")
    lines.append(f"{'DRAGON':8} {'paper':6} " + " ".join(f"{100 * DRAGON[k]:6.1f}" for k in KS))
    return "\n".join(lines)
