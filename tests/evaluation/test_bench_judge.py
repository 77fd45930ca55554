"""`bench judge`: the judge's odds against the checks, beside a judge that always says 'fits'
and a coin."""

import pytest

from personalab.evaluation.bench_judge import agreement, judge_lines, pairwise, per_reply
from personalab.replies.judge import Judge


def row(checks_flag: bool, respects: float, text: str = "", **odds) -> dict:
    return {"violated": checks_flag, "echoed": False, "seconds": 1.0, "probe": "p",
            "text": text, "facts": ["vegan"], "question": "q",
            "odds": {"respects": respects, "answers": 0.9, "uses_fact": 0.2} | odds}  # fmt: skip


def test_agreement_ranks_the_flagged_replies_and_finds_the_threshold_that_agrees_best():
    """A judge whose 'respects' odds are lower on every reply the checks flag ranks them
    perfectly (AUC 1) and agrees fully at the best threshold, even where the fixed threshold
    flags too few; reversed odds rank them worse than a coin."""
    rows = [row(True, 0.55), row(True, 0.6), row(False, 0.7), row(False, 0.8), row(False, 0.9)]
    a = agreement(rows, below=0.5)
    assert a["auc"] == 1.0 and a["judge_only"] == 0 and a["checks_only"] == 2
    assert a["best_kappa"] == 1.0 and 0.6 < a["best_threshold"] <= 0.7
    assert a["floor_always_fits"]["rate"] == 0.6
    reversed_ = [row(r["violated"], 1.5 - r["odds"]["respects"]) for r in rows]
    assert agreement(reversed_)["auc"] == 0.0


def test_answers_and_uses_a_fact_are_the_judges_odds_over_one_half():
    rows = [row(False, 0.9, uses_fact=0.8), row(True, 0.2, answers=0.3)]
    s = per_reply(rows)
    assert s["answers"]["k"] == 1 and s["uses_fact"]["k"] == 1 and s["violations"]["k"] == 1
    assert s["judge_breaks"]["k"] == 1


class PairJudge:
    name = "pairs"

    def __init__(self, a_given: dict[str, float]):
        self.a_given = a_given

    def first_token_odds(self, messages, choices):
        first = messages[-1].content.split("Reply A: ", 1)[1].split("\n", 1)[0]
        return {"A": self.a_given[first], "B": 1 - self.a_given[first]}


def test_pairwise_cancels_the_position_and_counts_siding_with_the_checks():
    """A judge that always leans to 'A' (P 0.7-0.9) is shown as position-bound, yet its lean
    between the replies decides; where the checks pass only one reply, siding with it counts."""
    a_given = {"g1": 0.7, "p1": 0.9, "g2": 0.9, "p2": 0.7, "g3": 0.85, "p3": 0.85}
    generic = [row(True, 0.5, "g1"), row(False, 0.5, "g2"), row(False, 0.5, "g3")]
    personal = [row(False, 0.5, "p1"), row(False, 0.5, "p2"), row(True, 0.5, "p3")]
    got = pairwise(Judge(PairJudge(a_given)), generic, personal, lambda line: None)
    assert got["personalized"]["k"] == 1 and got["generic"]["k"] == 1 and got["tie"] == 1
    assert got["position_bias"] == pytest.approx(0.817)
    assert got["sides_with_checks"]["k"] == 1 and got["sides_with_checks"]["n"] == 2
    figures = {"judge": "j", "model": "m", "probes": 3, "split": "test", "pairwise": got,
               "agreement": agreement(generic + personal), "seconds_per_rating": 1.0,
               "systems": {"generic": per_reply(generic)}}  # fmt: skip
    shown = "\n".join(judge_lines(figures))
    assert "mean P('A') 0.817" in shown and "sides with them 50%" in shown
    assert "- generic: violations" in shown and "AUC" in shown
