"""`bench judge`: an offline judge on the constraint probes, by its answer's odds: its agreement
with the checks, whether replies answer and use the user's facts, and generic vs guarded."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from personalab.compose import backend_from_settings, judge_from_settings
from personalab.embedding.embedder import Embedder
from personalab.evaluation import faithfulness
from personalab.evaluation.common import log, share
from personalab.replies.judge import TIE, aspect_odds, leaning
from personalab.settings import Settings

JUDGE_PACK = "qwen2.5-coder-1.5b"
# A reply breaks a rule by the judge when P(it respects the user) is under this: chosen on the
# dev probes (the kappa with the checks at its best there), reported on test.
RESPECTS_BELOW = 0.51


def run(
    embedder: Embedder,
    settings: Settings,
    split: str = "test",
    judge_pack: str = JUDGE_PACK,
    progress: Callable[[str], None] = log,
) -> dict:
    """Replies by settings.model (generic, personalized, guarded), each rated by the judge
    pack's odds; then generic against guarded for each probe, in both orders."""
    fixed = settings.replace(
        temperature=0.0, max_tokens=96, gguf_path="", backend="offline", judge_model=judge_pack
    )
    backend = backend_from_settings(fixed)
    judge = judge_from_settings(fixed)
    found = faithfulness.run(backend, embedder, fixed, split, progress=progress)
    rows = found.pop("rows")
    started = time.perf_counter()
    for name, replies in rows.items():
        for n, r in enumerate(replies):
            r["odds"] = aspect_odds(judge, r["facts"], r["question"], r["text"])
            progress(f"  rated {name} {n + 1}/{len(replies)}: {r['odds']}")
    rated_s = (time.perf_counter() - started) / max(1, sum(map(len, rows.values())))
    figures = {
        "split": split,
        "probes": found["probes"],
        "model": backend.name,
        "judge": judge.backend.name,
        "seconds_per_rating": round(rated_s, 2),
        "agreement": agreement([r for rs in rows.values() for r in rs]),
        "systems": {name: per_reply(rs) for name, rs in rows.items()},
    }
    if {"generic", "guarded"} <= set(rows):
        figures["pairwise"] = pairwise(judge, rows["generic"], rows["guarded"], progress)
    saved = Path("bench-results") / f"judge-rows-{time.strftime('%Y%m%d-%H%M%S')}.json"
    saved.parent.mkdir(exist_ok=True)
    saved.write_text(json.dumps(rows, indent=1, default=str))
    progress(f"replies and the judge's odds saved: {saved}")
    return figures


def breaks(row: dict, below: float = RESPECTS_BELOW) -> bool:
    """Whether the judge's odds say the reply breaks something the user told it."""
    return row["odds"]["respects"] < below


def agreement(rows: list[dict], below: float = RESPECTS_BELOW) -> dict:
    """The judge's 'breaks a rule' beside the checks' verdict on the same replies: the area
    under the curve (0.5 is a coin), Cohen's kappa at the threshold, the best threshold and
    its kappa (to choose the threshold on dev), and the floor: a judge that always says 'fits'."""

    def at(threshold: float) -> dict:
        return kappa([(r["violated"], breaks(r, threshold)) for r in rows])

    cuts = {r["odds"]["respects"] for r in rows} | {1.0}  # each threshold that changes a verdict
    best = max(((at(t)["kappa"], t) for t in cuts), default=(0.0, below))
    return at(below) | {
        "auc": auc([(r["violated"], 1 - r["odds"]["respects"]) for r in rows]),
        "threshold": below,
        "best_threshold": round(best[1], 3),
        "best_kappa": best[0],
    }


def kappa(pairs: list[tuple[bool, bool]]) -> dict:
    """Agreement of (checks, judge) verdicts, each kind of disagreement, Cohen's kappa and the
    'always fits' floor."""
    n = len(pairs)
    both = sum(1 for c, j in pairs if c and j)
    neither = sum(1 for c, j in pairs if not c and not j)
    checks_only = sum(1 for c, j in pairs if c and not j)
    judge_only = sum(1 for c, j in pairs if j and not c)
    agree = both + neither
    p_checks = (both + checks_only) / n if n else 0.0
    p_judge = (both + judge_only) / n if n else 0.0
    chance = p_checks * p_judge + (1 - p_checks) * (1 - p_judge)
    k = (agree / n - chance) / (1 - chance) if n and chance < 1 else 0.0
    return {
        "replies": n,
        "agree": share(agree, n),
        "kappa": round(k, 3),
        "both_flag": both,
        "checks_only": checks_only,
        "judge_only": judge_only,
        "neither": neither,
        "floor_always_fits": share(neither + judge_only, n),
    }


def auc(scored: list[tuple[bool, float]]) -> float | None:
    """P(a reply the checks flag scores above one they pass), ties half: 0.5 is a coin."""
    flagged = [s for c, s in scored if c]
    passed = [s for c, s in scored if not c]
    if not flagged or not passed:
        return None
    wins = sum((f > p) + 0.5 * (f == p) for f in flagged for p in passed)
    return round(wins / (len(flagged) * len(passed)), 3)


def per_reply(rows: list[dict]) -> dict:
    """Checks' violations and echo, and the judge's 'answers the question' and 'uses a fact
    about the user' (odds over one half), each with a Wilson interval."""
    return {
        "violations": share(sum(r["violated"] for r in rows), len(rows)),
        "echo": share(sum(r["echoed"] for r in rows), len(rows)),
        "judge_breaks": share(sum(breaks(r) for r in rows), len(rows)),
        "answers": share(sum(r["odds"]["answers"] > 0.5 for r in rows), len(rows)),
        "uses_fact": share(sum(r["odds"]["uses_fact"] > 0.5 for r in rows), len(rows)),
        "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 2) if rows else 0.0,
    }


def pairwise(judge, generic: list[dict], personal: list[dict], progress) -> dict:
    """Per probe: how much the judge prefers the personalized reply, from its odds in both
    orders (position bias cancelled); a lean under TIE is a tie. Also the judge's mean P('A')
    (its bias for a position) and, where the checks pass exactly one of the two replies, how
    often it sides with the checks (a coin: half)."""
    wins = {"personalized": 0, "generic": 0, "tie": 0}
    leans, biases, sided, split_pairs = [], [], 0, 0
    for n, (g, p) in enumerate(zip(generic, personal, strict=True)):
        lean = leaning(judge, p["facts"], p["question"], g["text"], p["text"])
        said = lean.second
        leans.append(said)
        biases.append(lean.bias)
        won = "personalized" if said > 0.5 + TIE else "generic" if said < 0.5 - TIE else "tie"
        wins[won] += 1
        if g["violated"] != p["violated"]:
            split_pairs += 1
            sided += said > 0.5 if g["violated"] else said < 0.5
        progress(f"  pairwise {n + 1}/{len(personal)}: {won} ({said:.2f}, P(A) {lean.bias:.2f})")
    total = len(personal)
    return {
        "probes": total,
        "personalized": share(wins["personalized"], total),
        "generic": share(wins["generic"], total),
        "tie": wins["tie"],
        "leans_personalized": share(sum(x > 0.5 for x in leans), total),
        "mean_lean": round(statistics.fmean(leans), 3) if leans else None,
        "position_bias": round(statistics.fmean(biases), 3) if biases else None,
        "sides_with_checks": share(sided, split_pairs),
    }


def judge_lines(f: dict) -> list[str]:
    """The judge's figures as lines of text, each beside its floor."""
    a = f["agreement"]
    lines = [
        f"Offline judge {f['judge']}, by its first answer token's odds, on {f['model']}'s "
        f"replies ({f['probes']} {f['split']} probes; {f.get('seconds_per_rating')} s to rate a "
        "reply: three questions)",
        f"- 'breaks a rule' against the checks: AUC {a['auc']} (a coin 0.5); at P(respects) < "
        f"{a['threshold']}: agreement {a['agree']['rate']:.0%} {a['agree']['ci']} of "
        f"{a['replies']} replies, kappa {a['kappa']}; floor 'always fits' "
        f"{a['floor_always_fits']['rate']:.0%}; both flag {a['both_flag']}, checks only "
        f"{a['checks_only']}, judge only {a['judge_only']}; best threshold here "
        f"{a['best_threshold']} (kappa {a['best_kappa']})",
    ]
    for name, s in f["systems"].items():
        lines.append(
            f"- {name}: violations {s['violations']['rate']:.0%} {s['violations']['ci']}, "
            f"echo {s['echo']['rate']:.0%}, judge says breaks {s['judge_breaks']['rate']:.0%}, "
            f"answers {s['answers']['rate']:.0%} {s['answers']['ci']}, uses a fact "
            f"{s['uses_fact']['rate']:.0%} {s['uses_fact']['ci']}, {s['seconds_p50']} s per reply"
        )
    if "pairwise" in f:
        p = f["pairwise"]
        lines.append(
            f"- pairwise, both orders: guarded preferred {p['personalized']['rate']:.0%} "
            f"{p['personalized']['ci']}, generic {p['generic']['rate']:.0%}, ties {p['tie']} of "
            f"{p['probes']}; leans to guarded {p['leans_personalized']['rate']:.0%} (mean lean "
            f"{p['mean_lean']}); mean P('A') {p['position_bias']} (0.5 is no position bias); "
            f"where the checks pass one reply only, sides with them "
            f"{p['sides_with_checks']['rate']:.0%} {p['sides_with_checks']['ci']} of "
            f"{p['sides_with_checks']['n']} (a coin: 50%)"
        )
    return lines


def print_judge(f: dict) -> None:
    """The judge's figures as text, each beside its floor."""
    print("\n" + "\n".join(judge_lines(f)))
