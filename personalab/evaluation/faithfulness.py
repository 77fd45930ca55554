"""Faithfulness: how often generic, personalized and guarded replies break a persona's rules."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.memory.store import MemoryStore, open_client
from personalab.models.backends import ChatBackend
from personalab.personas.library import PersonaLibrary
from personalab.prompts import ColumnKind
from personalab.replies.judge import Judge
from personalab.settings import Settings

DATA = Path(__file__).parent / "data" / "constraint_probes.yaml"
SYSTEMS = ("generic", "personalized", "guarded")
REFUSAL = ("i'm sorry", "i am sorry", "i cannot", "i can't", "as an ai")


@dataclass(frozen=True)
class Probe:
    id: str
    persona: str
    question: str
    constraint: str
    split: str


def load(path: Path = DATA) -> list[Probe]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["probes"]
    return [Probe(p["id"], p["persona"], p["question"], p["constraint"], p["split"]) for p in items]


def run(
    backend: ChatBackend,
    embedder: Embedder,
    settings: Settings,
    split: str = "test",
    samples: int = 1,
    systems: tuple[str, ...] = SYSTEMS,
    judge: Judge | None = None,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict:
    """Per system: violation rate, mention rate, refusals, reply time (and judge error rates),
    and each reply's row."""
    library = PersonaLibrary(settings.personas_dir)
    probes = [p for p in load() if split == "all" or p.split == split]
    folder = Path(tempfile.mkdtemp(prefix="personalab-faith-"))
    rows: dict[str, list[dict]] = {name: [] for name in systems}
    try:
        store = MemoryStore(open_client(folder), embedder)
        plain = Engine(store, backend, settings.replace(guard="off"), judge=judge)
        guarded = Engine(store, backend, settings.replace(guard="on"), judge=judge)
        started = time.perf_counter()
        for n, probe in enumerate(probes):
            persona = library.get(probe.persona)
            for sample in range(samples):
                for name in systems:
                    engine = guarded if name == "guarded" else plain
                    kind = ColumnKind.GENERIC if name == "generic" else ColumnKind.PERSONALIZED
                    (reply,) = engine.compare(
                        f"faith-{sample}", persona, probe.question, f"{probe.id}", [kind], False
                    )
                    reply.read()
                    rows[name].append(_row(probe, reply))
            left = (time.perf_counter() - started) / (n + 1) * (len(probes) - n - 1)
            progress(f"  {probe.id} done ({n + 1}/{len(probes)}, about {left:.0f} s left)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "split": split,
        "probes": len(probes),
        "samples": samples,
        "model": backend.name,
        "temperature": settings.temperature,
        "systems": {name: summarize(r) for name, r in rows.items()},
        "rows": rows,
    }


def _row(probe: Probe, reply) -> dict:
    hard = [r for r in reply.report.results if r.check.forbid]
    target = [r for r in hard if r.check.constraint == probe.constraint]
    return {
        "probe": probe.id,
        "violated": any(not r.passed for r in hard),
        "violated_target": any(not r.passed for r in target),
        "checkable": bool(target),
        "mentioned": any(r.mentions for r in hard),
        "echoed": any(not r.passed for r in reply.report.results if r.check.echo),
        "refused": any(p in reply.text.lower()[:120] for p in REFUSAL) or not reply.text.strip(),
        "seconds": reply.stats.total_s,
        "attempts": len(reply.guard_log.attempts) if reply.guard_log else 1,
        "judge": reply.verdict.errors if reply.verdict else None,
        "judge_error": reply.judge_error,
        "uses_fact": reply.verdict.uses_fact if reply.verdict else None,
        "facts": reply.judge_facts(),
        "question": probe.question,
        "text": reply.text,
    }


def summarize(rows: list[dict]) -> dict:
    checkable = [r for r in rows if r["checkable"]]
    out = {
        "replies": len(rows),
        "violation_rate": _share(rows, "violated"),
        "target_violation_rate": _share(checkable, "violated_target"),
        "mention_rate": _share(rows, "mentioned"),
        "echo_rate": _share(rows, "echoed"),
        "refusal_rate": _share(rows, "refused"),
        "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 3) if rows else 0,
        "seconds_mean": round(statistics.fmean(r["seconds"] for r in rows), 3) if rows else 0,
        "retried_share": _share([r | {"x": r["attempts"] > 1} for r in rows], "x"),
    }
    judged = [r["judge"] for r in rows if r["judge"]]
    if judged:
        out["judge"] = {e: sum(j[e] for j in judged) / len(judged) for e in judged[0]}
    out["examples"] = [
        {"probe": r["probe"], "text": r["text"][:300]} for r in rows if r["violated"]
    ][:5]
    return out


def _share(rows: list[dict], key: str) -> float:
    return round(sum(1 for r in rows if r[key]) / len(rows), 4) if rows else 0.0


TEMPERATURES = (0.2, 0.5, 0.7)


def defaults_grid(
    backend: ChatBackend,
    embedder: Embedder,
    settings: Settings,
    samples: int = 2,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[dict]:
    """The personalized reply on the dev probes for each temperature and prompt layout: the
    figures the shipped sampling settings and layout were chosen from."""
    rows = []
    for temperature in TEMPERATURES:
        for reminder in (True, False):
            layout = replace(settings, temperature=temperature, constraint_reminder=reminder)
            progress(f"temperature {temperature}, constraint reminder {reminder}")
            result = run(
                backend, embedder, layout, "dev", samples, ("personalized",), None, progress
            )
            rows.append(
                {"temperature": temperature, "reminder": reminder}
                | result["systems"]["personalized"]
            )
    return rows
