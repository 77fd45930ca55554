"""`bench judge`: an offline judge on the constraint probes: its agreement with the checks,
whether replies answer and use the user's facts, and generic vs personalized pairwise."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from personalab.compose import backend_from_settings, judge_from_settings
from personalab.embedding.embedder import Embedder
from personalab.errors import PersonaLabError
from personalab.evaluation import faithfulness
from personalab.evaluation.common import log, share
from personalab.replies.judge import pair_orders, settle
from personalab.settings import Settings

JUDGE_PACK = "qwen2.5-coder-1.5b"
VIOLATION_ERRORS = ("violates_unknowingly", "acknowledges_but_violates")


def run(
    embedder: Embedder,
    settings: Settings,
    split: str = "test",
    judge_pack: str = JUDGE_PACK,
    progress: Callable[[str], None] = log,
) -> dict:
    """Replies by settings.model (generic, personalized, guarded), each rated by the judge
    pack; then generic against guarded for each probe, asked with the positions swapped."""
    fixed = settings.replace(
        temperature=0.0, max_tokens=96, gguf_path="", backend="offline", judge_model=judge_pack
    )
    backend = backend_from_settings(fixed)
    judge = judge_from_settings(fixed)
    found = faithfulness.run(backend, embedder, fixed, split, judge=judge, progress=progress)
    rows = found.pop("rows")
    saved = Path("bench-results") / f"judge-rows-{time.strftime('%Y%m%d-%H%M%S')}.json"
    saved.parent.mkdir(exist_ok=True)
    saved.write_text(json.dumps(rows, indent=1, default=str))
    progress(f"replies and verdicts saved before the pairwise step: {saved}")
    figures = {
        "split": split,
        "probes": found["probes"],
        "model": backend.name,
        "judge": judge.backend.name,
        "agreement": agreement([r for rs in rows.values() for r in rs]),
        "systems": {name: per_reply(rs) for name, rs in rows.items()},
    }
    if {"generic", "guarded"} <= set(rows):
        figures["pointwise"] = pointwise(rows["generic"], rows["guarded"])
        figures["pairwise"] = pairwise(judge, rows["generic"], rows["guarded"], progress)
    return figures


def agreement(rows: list[dict]) -> dict:
    """The judge's 'breaks a constraint' beside the checks' verdict on the same replies, and
    the floor: a judge that always says 'fits'."""
    judged = [r for r in rows if r["judge"]]
    pairs = [(r["violated"], any(r["judge"][e] for e in VIOLATION_ERRORS)) for r in judged]
    n = len(pairs)
    both = sum(1 for c, j in pairs if c and j)
    neither = sum(1 for c, j in pairs if not c and not j)
    checks_only = sum(1 for c, j in pairs if c and not j)
    judge_only = sum(1 for c, j in pairs if j and not c)
    agree = both + neither
    p_checks = (both + checks_only) / n if n else 0.0
    p_judge = (both + judge_only) / n if n else 0.0
    chance = p_checks * p_judge + (1 - p_checks) * (1 - p_judge)
    kappa = (agree / n - chance) / (1 - chance) if n and chance < 1 else 0.0
    return {
        "replies": n,
        "agree": share(agree, n),
        "kappa": round(kappa, 3),
        "both_flag": both,
        "checks_only": checks_only,
        "judge_only": judge_only,
        "neither": neither,
        "floor_always_fits": share(neither + judge_only, n),
        "unrated": len(rows) - n,
    }


def per_reply(rows: list[dict]) -> dict:
    """Checks' violations and echo, and the judge's 'answers the question' and 'uses a fact
    about the user', each with a Wilson interval."""
    judged = [r for r in rows if r["judge"]]
    return {
        "violations": share(sum(r["violated"] for r in rows), len(rows)),
        "echo": share(sum(r["echoed"] for r in rows), len(rows)),
        "answers": share(sum(not r["judge"]["unhelpful"] for r in judged), len(judged)),
        "uses_fact": share(sum(bool(r["uses_fact"]) for r in judged), len(judged)),
        "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 2) if rows else 0.0,
    }


def score(row: dict) -> int | None:
    """A reply's fit by the judge's own verdict on it alone: no PrefEval error, and one
    point more when it uses a fact about the user. None when unrated."""
    if not row["judge"]:
        return None
    return (not any(row["judge"].values())) + bool(row["uses_fact"])


def pointwise(generic: list[dict], personal: list[dict]) -> dict:
    """Which reply fits better by each one's verdict, rated alone: no position to be biased by."""
    pairs = [(score(g), score(p)) for g, p in zip(generic, personal, strict=True)]
    rated = [(g, p) for g, p in pairs if g is not None and p is not None]
    n = len(pairs)
    return {
        "probes": n,
        "personalized": share(sum(p > g for g, p in rated), n),
        "generic": share(sum(g > p for g, p in rated), n),
        "tie": sum(g == p for g, p in rated),
        "unrated": n - len(rated),
    }


def pairwise(judge, generic: list[dict], personal: list[dict], progress) -> dict:
    """Per probe: which reply fits the user better, asked twice with the positions swapped;
    a split decision is a tie. Counts how often the judge picked a position both times."""
    wins = {"personalized": 0, "generic": 0, "tie": 0, "failed": 0}
    orders = {"A both times": 0, "B both times": 0, "tie both times": 0, "consistent": 0}
    for n, (g, p) in enumerate(zip(generic, personal, strict=True)):
        try:
            as_first, as_second = pair_orders(
                judge, p["facts"], p["question"], g["text"], p["text"]
            )
        except PersonaLabError as exc:  # an answer that does not parse is counted, not hidden
            progress(f"  pairwise {p['probe']}: {exc}")
            wins["failed"] += 1
            continue
        said = settle(as_first, as_second)
        wins[{"first": "generic", "second": "personalized", "tie": "tie"}[said]] += 1
        same = as_first == as_second
        key = f"{as_first} both times" if same else "consistent" if said != "tie" else None
        if key:
            orders[key] += 1
        progress(f"  pairwise {n + 1}/{len(personal)}: {said} ({as_first}, then {as_second})")
    total = len(personal)
    return {
        "probes": total,
        "personalized": share(wins["personalized"], total),
        "generic": share(wins["generic"], total),
        "tie": wins["tie"],
        "failed": wins["failed"],
        "orders": orders,
    }


def judge_lines(f: dict) -> list[str]:
    """The judge's figures as lines of text, each beside its floor."""
    lines = []
    a = f["agreement"]
    lines.append(
        f"Offline judge {f['judge']} on {f['model']}'s replies ({f['probes']} {f['split']} probes)"
    )
    lines.append(
        f"- agreement with the checks: {a['agree']['rate']:.0%} {a['agree']['ci']} of "
        f"{a['replies']} replies (kappa {a['kappa']}); floor 'always fits' "
        f"{a['floor_always_fits']['rate']:.0%}; both flag {a['both_flag']}, checks only "
        f"{a['checks_only']}, judge only {a['judge_only']}, unrated {a['unrated']}"
    )
    for name, s in f["systems"].items():
        lines.append(
            f"- {name}: violations {s['violations']['rate']:.0%} {s['violations']['ci']}, "
            f"echo {s['echo']['rate']:.0%}, answers {s['answers']['rate']:.0%} "
            f"{s['answers']['ci']}, uses a fact {s['uses_fact']['rate']:.0%} "
            f"{s['uses_fact']['ci']}, {s['seconds_p50']} s per reply"
        )
    if "pairwise" in f:
        p = f["pairwise"]
        lines.append(
            f"- pairwise, positions swapped: personalized preferred {p['personalized']['rate']:.0%}"
            f" {p['personalized']['ci']}, generic {p['generic']['rate']:.0%}, ties {p['tie']}, "
            f"failed {p['failed']} of {p['probes']}; "
            + ", ".join(f"{k} {v}" for k, v in p["orders"].items())
            + (f" (stopped {p['stopped']})" if p.get("stopped") else "")
        )
    if "pointwise" in f:
        p = f["pointwise"]
        lines.append(
            f"- pointwise (each reply rated alone): personalized fits better "
            f"{p['personalized']['rate']:.0%} {p['personalized']['ci']}, generic "
            f"{p['generic']['rate']:.0%}, ties {p['tie']}, unrated {p['unrated']} of {p['probes']}"
        )
    return lines


def print_judge(f: dict) -> None:
    """The judge's figures as text, each beside its floor."""
    print("\n" + "\n".join(judge_lines(f)))
