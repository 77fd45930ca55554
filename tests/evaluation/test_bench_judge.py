"""`bench judge`: the judge's agreement with the checks, beside a judge that always says 'fits'."""

import pytest

from personalab.evaluation.bench_judge import agreement, per_reply
from personalab.replies.judge import CRITERIA


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
