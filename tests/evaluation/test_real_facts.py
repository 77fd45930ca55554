"""`bench facts-real`: hand-labelled LoCoMo turns, read from LoCoMo's own file; the rates."""

import pytest
import yaml

from personalab.evaluation.bench_real_facts import LABELS, labelled, lines, rates
from personalab.evaluation.common import LOCOMO


def test_the_labels_hold_ids_only_and_enough_turns_per_split():
    """At least 300 dev turns (conversations 1-5) and 200 test turns (6-10), as ids and
    labels: no LoCoMo text is copied into the repository; the criteria are beside them."""
    data = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    marks = data["turns"]
    assert set(marks[0]) == {"conv", "dia_id", "split", "fact"}
    dev = [m for m in marks if m["split"] == "dev"]
    test = [m for m in marks if m["split"] == "test"]
    assert len(dev) >= 300 and all(m["conv"] <= 4 for m in dev)
    assert len(test) >= 200 and all(m["conv"] >= 5 for m in test)
    assert (LABELS.parent / data["criteria"]).is_file()


@pytest.mark.skipif(not LOCOMO.is_file(), reason="needs ../shared/data/locomo10.json")
def test_every_labelled_turn_is_found_in_locomo_with_its_text():
    turns = labelled(LOCOMO, "all")
    assert len(turns) >= 500 and all(text.strip() for text, _ in turns)
    assert 0 < sum(gold for _, gold in turns) < len(turns)


def test_precision_and_recall_come_with_intervals_and_the_goal():
    """3 found, 2 of them right, of 4 facts: precision 2/3, recall 1/2, the goal not met."""
    said = [(True, True), (True, True), (False, True), (True, False), (True, False)]
    r = rates(said)
    assert r["precision"]["k"] == 2 and r["precision"]["n"] == 3
    assert r["recall"]["k"] == 2 and r["recall"]["n"] == 4 and r["goal_met"] is False
    shown = "\n".join(lines({"turns": 5, "facts": 4, "split": "test", "extractors": {"x": r}}))
    assert "| x | 67% (" in shown and "| no |" in shown


@pytest.mark.skipif(not LOCOMO.is_file(), reason="needs ../shared/data/locomo10.json")
def test_an_llm_confirms_what_ships_turn_by_turn(embedder, settings, monkeypatch):
    """Each pack gets its own row and a row for what ships confirmed by it: a turn counts as
    a fact there only when both say so. An LLM that says "fact" to every turn leaves what
    ships as it was; one that never does leaves nothing found."""
    from personalab.evaluation import bench_real_facts

    verdicts = {"yes": True, "no": False}
    monkeypatch.setattr(bench_real_facts, "_llm", lambda e, s, name, turns, progress: (
        [verdicts[name]] * len(turns), {"seconds_p50": 1.0, "failed_answers": 0}))  # fmt: skip
    f = bench_real_facts.run(embedder, settings, LOCOMO, "test", ("yes", "no"))
    rows = f["extractors"]
    assert rows["rules + fact model, confirmed by LLM yes"] == rows["rules + fact model"]
    assert rows["LLM, yes"]["recall"]["rate"] == 1.0 and rows["LLM, yes"]["seconds_p50"] == 1.0
    assert rows["rules + fact model, confirmed by LLM no"]["precision"]["n"] == 0
    assert "| LLM, yes | " in "\n".join(bench_real_facts.lines(f))
