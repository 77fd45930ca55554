"""The evaluation harness: recall, preference following, win rates; progress, cancel, saved runs."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation import probes as preference
from personalab.memory.store import MemoryStore, open_client
from personalab.models.backends import ChatBackend
from personalab.personas.library import PersonaLibrary
from personalab.personas.model import Persona
from personalab.prompts import ColumnKind
from personalab.records import NewMemory
from personalab.replies.checks import Check, check_reply
from personalab.replies.judge import Judge, compare_pair
from personalab.seeding import seed
from personalab.settings import Settings
from personalab.stage.votes import WinRate

SETTINGS = {  # retrieval settings compared by the recall task
    "fused": {},
    "dense only": {"dense_weight": 1.0},
    "keyword only": {"dense_weight": 0.0},
    "no facts": {"facts": False},
}
DISTRACTORS = (10, 70, 300)
Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """The run was cancelled; nothing was saved."""


@dataclass
class Job:
    """What a run has done so far, for a progress bar with the time left; cancel() stops it."""

    total: int = 0
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)
    listener: Progress | None = None  # told of every step (e.g. to print progress)

    def tick(self, done: int, total: int) -> None:
        if self.stop.is_set():
            raise Cancelled
        self.done, self.total = done, total
        if self.listener is not None:
            self.listener(done, total)

    @property
    def seconds_left(self) -> float | None:
        if not self.done or not self.total:
            return None
        return (time.monotonic() - self.started) / self.done * (self.total - self.done)

    def cancel(self) -> None:
        self.stop.set()


@dataclass(frozen=True)
class Workspace:
    """The models and data a run uses: an embedder, a chat backend, a judge, the personas."""

    embedder: Embedder
    settings: Settings
    backend: ChatBackend | None = None
    judge: Judge | None = None

    def engine(self, folder: Path, **changes) -> Engine:
        store = MemoryStore(open_client(folder, lock=False), self.embedder)
        settings = dataclasses.replace(self.settings, fact_extraction="rules", **changes)
        return Engine(store, self.backend, settings, judge=None)


def each(items: list, job: Job) -> Iterable:
    for n, item in enumerate(items):
        job.tick(n, len(items))
        yield item
    job.tick(len(items), len(items))


def recall_task(work: Workspace, job: Job, limit: int | None = None) -> list[dict]:
    """Per retrieval setting and probe set: is what answers each probe in the prompt (recall)
    and how high it ranks among the facts and turns (MRR)."""
    personas = PersonaLibrary(work.settings.personas_dir).load()[0]
    cases = [("persona probes", p, q.question, q.recalls) for p in personas for q in p.probes]
    cases = cases[:limit] if limit else cases
    pref = preference.load_probes()[: limit or None]
    every = [*cases, *[("preference", None, p) for p in pref]]
    items = [(name, case) for name in SETTINGS for case in every]
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="personalab-eval-"))
    try:
        engine = work.engine(folder)
        base = engine.policy
        _prepare(engine, personas, pref, job)
        for name, case in each(items, job):
            weight = SETTINGS[name].get("dense_weight", base.dense_weight)
            engine.policy = dataclasses.replace(base, dense_weight=weight)
            rank = _rank(engine, SETTINGS[name], case)
            rows.append({"setting": name, "set": case[0], "id": _case_id(case), "rank": rank})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return summarize_recall(rows) + rows


def _prepare(engine: Engine, personas: list[Persona], pref, job: Job) -> None:
    """The memories the probes ask about: each persona's seed; one long preference history."""
    for persona in personas:
        job.tick(0, 1)
        seed(engine, "eval", persona)
    if pref:
        history = preference.history(pref, preference.load_turns())
        start = time.time() - len(history) * 21600
        for i, (text, _) in enumerate(history):
            job.tick(0, 1)
            turn = NewMemory(text, "user", f"s{i // 10}", created_at=start + i * 21600)
            engine.remember("eval-pref", "probe-user", [turn])


def _case_id(case) -> str:
    return f"{case[1].id}: {case[2]}" if case[0] == "persona probes" else case[2].id


def _rank(engine: Engine, setting: dict, case) -> int | None:
    """The 1-based position of the first fact or turn holding the answer, or None."""
    if case[0] == "persona probes":
        _, persona, question, needle = case
        user = "eval"
    else:
        probe = case[2]
        persona, question, needle, user = _probe_persona(), probe.question, probe.fact, "eval-pref"
    recalled = engine.recall(user, persona, question, "eval")
    plan = engine.plan(ColumnKind.MEMORY, question, persona, recalled)
    # By relevance, not prompt order (the prompt lists facts oldest first for the model's cache)
    facts = sorted(plan.facts, key=lambda f: -f.score) if setting.get("facts", True) else []
    texts = [f.memory.text for f in facts] + [m.memory.text for m in plan.memories]
    needle = needle.lower()
    for n, text in enumerate(texts, 1):
        if needle in text.lower() or text.lower() in needle:
            return n
    return None


def _probe_persona() -> Persona:
    persona = Persona(name="Probe user")
    persona.set_id("probe-user")
    return persona


def summarize_recall(rows: list[dict]) -> list[dict]:
    out = []
    for setting in SETTINGS:
        for name in sorted({r["set"] for r in rows}):
            ranks = [r["rank"] for r in rows if r["setting"] == setting and r["set"] == name]
            if not ranks:
                continue
            found = [r for r in ranks if r is not None]
            out.append(
                {
                    "summary": True,
                    "setting": setting,
                    "set": name,
                    "questions": len(ranks),
                    "recall": round(len(found) / len(ranks), 4),
                    "recall@3": round(sum(r <= 3 for r in found) / len(ranks), 4),
                    "mrr": round(sum(1 / r for r in found) / len(ranks), 4),
                }
            )
    return out


def preference_task(
    work: Workspace, job: Job, limit: int | None = 20, distractors=DISTRACTORS
) -> list[dict]:
    """Scripted conversations: a preference said first, then N ordinary turns, then a question
    where it matters. A reply follows the preference when it names none of its ruled-out things."""
    if work.backend is None:
        raise ValueError("preference following needs a chat model")
    pref = [p for p in preference.load_probes() if p.forbid][: limit or None]
    turns = preference.load_turns()
    items = [
        (n, p, kind) for n in distractors for p in pref for kind in ("generic", "personalized")
    ]
    rows: list[dict] = []
    folder = Path(tempfile.mkdtemp(prefix="personalab-eval-"))
    try:
        engine = work.engine(folder)
        persona = _probe_persona()
        for n, probe, kind in each(items, job):
            user = f"pref-{n}-{probe.id}"
            if kind == "generic":  # write the scripted history once per conversation
                history = [probe.fact] + turns[:n]
                engine.remember(user, persona.id, [NewMemory(t, "user", "h") for t in history])
            (reply,) = engine.compare(user, persona, probe.question, "q", [ColumnKind(kind)], False)
            reply.read()
            check = Check(probe.fact, forbid=tuple(probe.forbid))
            report = check_reply(reply.text, [check])
            row = {
                "distractors": n,
                "probe": probe.id,
                "kind": kind,
                "followed": report.passed,
                "mentioned": report.mentioned,
                "seconds": round(reply.stats.total_s, 3),
            }
            if work.judge is not None:
                row["judge"] = work.judge.rate([probe.fact], probe.question, reply.text).errors
            rows.append(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = []
    for n in distractors:
        for kind in ("generic", "personalized"):
            picked = [r for r in rows if r["distractors"] == n and r["kind"] == kind]
            if picked:
                rate = sum(r["followed"] for r in picked) / len(picked)
                summary.append(
                    {
                        "summary": True,
                        "distractors": n,
                        "kind": kind,
                        "conversations": len(picked),
                        "followed": round(rate, 4),
                    }
                )
    return summary + rows


def winrate_task(work: Workspace, job: Job, limit: int | None = 3) -> list[dict]:
    """Generic vs personalized per persona on its probe questions: the judge decides (positions
    swapped) when there is one, else the persona's checks (a reply that breaks one loses)."""
    if work.backend is None:
        raise ValueError("win rates need a chat model")
    personas = PersonaLibrary(work.settings.personas_dir).load()[0]
    items = [(p, q.question) for p in personas for q in p.probes[: limit or None]]
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="personalab-eval-"))
    try:
        engine = work.engine(folder)
        seeded = set()
        for persona, question in each(items, job):
            if persona.id not in seeded:
                seed(engine, "eval", persona)
                seeded.add(persona.id)
            kinds = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
            generic, personal = engine.compare("eval", persona, question, "w", kinds, False)
            generic.read(), personal.read()
            rows.append(
                {
                    "persona": persona.id,
                    "question": question,
                    "outcome": _outcome(work, question, generic, personal),
                }
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = []
    for persona in dict.fromkeys(r["persona"] for r in rows):
        games = [r for r in rows if r["persona"] == persona]
        wins = sum(r["outcome"] == "personalized" for r in games)
        rate = WinRate(persona, "personalized", work.backend.name, wins, len(games))
        summary.append(
            {"summary": True, "decided_by": "judge" if work.judge else "checks"}
            | rate.to_json()
            | {"losses": sum(r["outcome"] == "generic" for r in games)}
        )
    return summary + rows


def _outcome(work: Workspace, question: str, generic, personal) -> str:
    if work.judge is not None:
        facts = personal.judge_facts(work.judge)  # no private fact to a judge elsewhere
        verdict = compare_pair(work.judge, facts, question, personal.text, generic.text)
        return {"first": "personalized", "second": "generic", "tie": "tie"}[verdict]
    good_generic, good_personal = generic.report.passed, personal.report.passed
    if good_personal and not good_generic:
        return "personalized"
    if good_generic and not good_personal:
        return "generic"
    return "tie"


def locomo_task(work: Workspace, job: Job, data: Path, limit: int | None = None) -> list[dict]:
    """LoCoMo turn-evidence recall per method, split, k and question category."""
    from personalab.evaluation import locomo

    chosen = list(range(limit or 10))
    done = [0]

    def progress(_: str) -> None:
        done[0] += 1
        job.tick(done[0], len(chosen))

    job.tick(0, len(chosen))
    return locomo.run(work.embedder, data, chosen, progress=progress)


def run(task: str, work: Workspace, job: Job, **options) -> list[dict]:
    """Rows of one task; Cancelled (and nothing returned) if the job is cancelled."""
    from personalab.evaluation.group_eval import group_task

    tasks = {
        "group": group_task,
        "recall": recall_task,
        "preference": preference_task,
        "winrate": winrate_task,
        "locomo": locomo_task,
    }
    if task not in tasks:
        raise ValueError(f"task must be one of {', '.join(tasks)}, not {task!r}")
    return tasks[task](work, job, **options)
