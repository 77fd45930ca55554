"""`eval group`: generic, individual (each member alone) and group replies, with and without
the guard, on the group probes: every member's hard constraints checked on each reply."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

import yaml

from personalab.engine import Engine
from personalab.errors import PersonaLabError
from personalab.evaluation.common import share
from personalab.evaluation.harness import Job, Workspace, each
from personalab.groups import Member, group_reply, instructions, member_checks
from personalab.memory.store import MemoryStore, open_client
from personalab.personas.groups import Group
from personalab.personas.library import PersonaLibrary
from personalab.prompts import INSTRUCTIONS, ColumnKind
from personalab.replies.checks import check_reply, count_words, echoed

DATA = Path(__file__).parent / "data" / "group_probes.yaml"
SYSTEMS = ("generic", "individual", "group", "group + guard")


def load(split: str = "test") -> list[dict]:
    probes = yaml.safe_load(DATA.read_text(encoding="utf-8"))["probes"]
    return [p for p in probes if split == "all" or p["split"] == split]


CHOICES = ("generic", "individual", "group", "guarded")  # --systems: the last is "group + guard"


def group_task(
    work: Workspace,
    job: Job,
    limit: int | None = None,
    split: str = "test",
    systems: tuple[str, ...] = CHOICES,
) -> list[dict]:
    """A row per reply (which system, which probe, which members it kept), then a summary row
    per system and one for clash detection. `systems` picks among CHOICES (for tuning a
    group prompt on dev, without the baselines)."""
    if work.backend is None:
        raise ValueError("group replies need a chat model")
    if unknown := set(systems) - set(CHOICES):
        raise PersonaLabError(
            f"unknown systems {', '.join(sorted(unknown))}: choose from {', '.join(CHOICES)}"
        )
    personas = {p.id: p for p in PersonaLibrary(work.settings.personas_dir).load()[0]}
    probes = load(split)[: limit or None]
    folder = Path(tempfile.mkdtemp(prefix="personalab-groups-"))
    rows: list[dict] = []
    try:
        store = MemoryStore(open_client(folder, lock=False), work.embedder)
        settings = work.settings.replace(fact_extraction="rules")
        plain = Engine(store, work.backend, settings.replace(guard="off"))
        guarded = Engine(store, work.backend, settings.replace(guard="on"))
        for probe in each(probes, job):
            members = [personas[m] for m in probe["members"]]
            rows += _probe(probe, members, plain, guarded, systems)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return summarize(rows) + rows


def _probe(
    probe: dict, members: list, plain: Engine, guarded: Engine, systems: tuple[str, ...]
) -> list[dict]:
    checks = {p.id: member_checks(p, [], True) for p in members}
    # A reply that recites its rules or the members' constraints keeps them trivially.
    told = INSTRUCTIONS + instructions([Member(p, [], checks[p.id]) for p in members])
    group = Group(name=probe["id"], members=probe["members"], id=probe["id"])
    question, rows = probe["question"], []

    def row(system: str, reply, alone: str = "", clashes: list[str] | None = None) -> dict:
        passed = {pid: check_reply(reply.text, c).passed for pid, c in checks.items()}
        out = {
            "probe": probe["id"], "system": system, "clash": probe["clash"],
            "members": len(members), "kept_all": all(passed.values()), "passed": passed,
            "seconds": round(reply.stats.total_s, 3), "alone": alone, "text": reply.text,
            "echo": bool(echoed(reply.text, told)), "words": count_words(reply.text),
        }  # fmt: skip
        return out | ({"clashes_found": clashes} if clashes is not None else {})

    if "generic" in systems:
        (generic,) = plain.compare(
            "eval", members[0], question, probe["id"], [ColumnKind.GENERIC], False
        )
        generic.read()
        rows.append(row("generic", generic))
    for persona in members if "individual" in systems else []:
        (alone,) = plain.compare("eval", persona, question, probe["id"],
                                 [ColumnKind.PERSONALIZED], False)  # fmt: skip
        alone.read()
        rows.append(row("individual", alone, alone=persona.id))
    for name, system, engine in (("group", "group", plain), ("guarded", "group + guard", guarded)):
        if name not in systems:
            continue
        answer = group_reply(engine, "eval", group, members, question, probe["id"], False)
        answer.reply.read()
        rows.append(row(system, answer.reply, clashes=answer.clashes))
    return rows


def _rate(k: int, n: int) -> dict:
    found = share(k, n)
    low, high = (round(x * 100) for x in found["ci"])
    return {"rate": found["rate"], "ci": f"{low}%-{high}%", "n": n}


def summarize(rows: list[dict]) -> list[dict]:
    """Per system, on the probes one answer can satisfy: the share of replies that keep every
    member's constraints, the per-member pass rate and the worst member's, and the time; then
    how often the checks found a clash exactly where the probes say there is one."""
    summary = []
    for system in SYSTEMS:
        mine = [r for r in rows if r["system"] == system and not r["clash"]]
        if not mine:
            continue
        marks = [(pid, ok) for r in mine for pid, ok in r["passed"].items()]
        by_member: dict[str, list[bool]] = {}
        for pid, ok in marks:
            by_member.setdefault(pid, []).append(ok)
        worst = min(by_member.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
        kept = _rate(sum(r["kept_all"] for r in mine), len(mine))
        member = _rate(sum(ok for _, ok in marks), len(marks))
        summary.append({
            "summary": True, "system": system, "replies": len(mine),
            "kept_every_member": kept["rate"], "kept_ci": kept["ci"],
            "member_pass": member["rate"], "member_ci": member["ci"],
            "worst_member": worst[0], "worst_member_pass": round(sum(worst[1]) / len(worst[1]), 3),
            "seconds_p50": round(statistics.median(r["seconds"] for r in mine), 2),
            "echoes": round(sum(r["echo"] for r in mine) / len(mine), 3),
            "words_p50": statistics.median(r["words"] for r in mine),
        })  # fmt: skip
    judged = [r for r in rows if r["system"] == "group"]
    right = sum(bool(r["clashes_found"]) == r["clash"] for r in judged)
    if judged:
        accuracy = _rate(right, len(judged))
        summary.append({"summary": True, "system": "clash detection", "replies": len(judged),
                        "accuracy": accuracy["rate"], "accuracy_ci": accuracy["ci"]})  # fmt: skip
    return summary


def table(summary: list[dict]) -> list[str]:
    """The summary rows as a Markdown table, clash detection and the goal under it."""
    lines = [
        "| system | replies | keeps every member (95 % CI) | per-member pass (95 % CI) "
        "| worst member (pass) | recites its prompt | p50 words "
        "| p50 s per reply (its recall not counted) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary:
        if "accuracy" in r:
            continue
        lines.append(
            f"| {r['system']} | {r['replies']} | {r['kept_every_member']:.0%} ({r['kept_ci']}) "
            f"| {r['member_pass']:.0%} ({r['member_ci']}) | {r['worst_member']} "
            f"({r['worst_member_pass']:.0%}) | {r.get('echoes', float('nan')):.0%} "
            f"| {r.get('words_p50', '')} | {r['seconds_p50']} |"
        )
    for r in summary:
        if "accuracy" in r:
            lines += ["", f"Clash detection on {r['replies']} probes (the checks, no model): "
                      f"{r['accuracy']:.0%} ({r['accuracy_ci']})."]  # fmt: skip
    goal = "Goal: with the default offline model and the guard, every member's constraints"
    lines += ["", f"{goal} kept in at least 90 % of the probes one answer can satisfy."]
    lines += [
        "A reply that recites its prompt (5 words in a row of its rules or of a member's "
        "constraints) keeps those constraints without answering; its share is beside."
    ]
    return lines
