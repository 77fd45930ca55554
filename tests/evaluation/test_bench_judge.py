"""`bench judge`: the judge's agreement with the checks, beside a judge that always says 'fits'."""

import json

import pytest

from personalab.evaluation.bench_judge import (
    agreement,
    judge_lines,
    pairwise,
    per_reply,
    pointwise,
)
from personalab.replies.judge import CRITERIA, Judge
from tests.helpers import ScriptedBackend


def row(checks_flag: bool, judge_flag: bool | None, **extra) -> dict:
    judge = None if judge_flag is None else dict.fromkeys(CRITERIA, False)
    if judge_flag:
        judge["violates_unknowingly"] = True
    return {"violated": checks_flag, "judge": judge, "echoed": False, "seconds": 1.0,
            "uses_fact": extra.get("uses_fact"), "probe": "p", "text": ""}  # fmt: skip


def test_agreement_counts_each_kind_of_disagreement_and_the_floor():
    """Both flag, checks only, judge only, neither; an unrated reply is counted apart; kappa is
    0 for a judge no better than chance and 1 for one that always agrees."""
    rows = [row(True, True), row(False, False), row(True, False), row(False, True), row(True, None)]
    a = agreement(rows)
    assert (a["both_flag"], a["checks_only"], a["judge_only"], a["neither"]) == (1, 1, 1, 1)
    assert a["agree"]["rate"] == 0.5 and a["kappa"] == 0.0 and a["unrated"] == 1
    assert a["floor_always_fits"]["rate"] == 0.5  # the two replies the checks pass
    perfect = agreement([row(True, True), row(False, False), row(False, False)])
    assert perfect["kappa"] == 1.0 and perfect["floor_always_fits"]["rate"] == pytest.approx(0.667)


def test_answers_and_uses_a_fact_come_from_the_rated_replies_only():
    """'Answers the question' and 'uses a fact' are shares of the replies the judge rated."""
    rows = [row(False, False, uses_fact=True), row(False, False, uses_fact=False), row(True, None)]
    rows[1]["judge"]["unhelpful"] = True
    s = per_reply(rows)
    assert s["answers"]["k"] == 1 and s["answers"]["n"] == 2
    assert s["uses_fact"]["rate"] == 0.5 and s["violations"]["k"] == 1


def test_pointwise_prefers_the_reply_with_fewer_errors_and_a_used_fact():
    """Each reply is scored on its own verdict: a personalized reply that uses a fact beats a
    generic one that does not; equal scores tie; an unrated pair is counted apart."""
    generic = [row(False, False, uses_fact=False), row(False, False, uses_fact=True),
               row(False, True, uses_fact=True), row(False, None)]  # fmt: skip
    personal = [row(False, False, uses_fact=True), row(False, False, uses_fact=True),
                row(False, False, uses_fact=False), row(False, False, uses_fact=True)]  # fmt: skip
    p = pointwise(generic, personal)
    assert p["personalized"]["k"] == 1 and p["tie"] == 2 and p["unrated"] == 1
    assert p["generic"]["k"] == 0 and p["probes"] == 4


def test_pairwise_counts_a_judge_that_picks_the_same_position_both_times():
    """A judge that answers 'A' whichever reply sits there is counted as position-bound, and
    its split verdicts are ties, not wins."""
    said = [("A", "A"), ("B", "A"), ("A", "B"), ("tie", "tie")]
    backend = ScriptedBackend(
        *[[json.dumps({"better": a, "explanation": ""})] for pair in said for a in pair]
    )
    rows = [row(False, False) | {"facts": [], "question": "q"} for _ in said]
    got = pairwise(Judge(backend), rows, rows, lambda line: None)
    assert got["orders"] == {
        "A both times": 1, "B both times": 0, "tie both times": 1, "consistent": 2
    }  # fmt: skip
    assert got["personalized"]["k"] == 1 and got["generic"]["k"] == 1 and got["tie"] == 2
    figures = {"judge": "j", "model": "m", "probes": 4, "split": "test", "pairwise": got,
               "agreement": agreement(rows), "systems": {"generic": per_reply(rows)},
               "pointwise": pointwise(rows, rows)}  # fmt: skip
    shown = "\n".join(judge_lines(figures))
    assert "A both times 1" in shown and "pointwise" in shown and "- generic: violations" in shown
