"""The evaluation harness end to end with the real offline model; saved runs; cancel; report."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from personalab import BackendError, Judge
from personalab.evaluation import harness, runs
from personalab.evaluation.report import write_report
from personalab.models.odds import NoOdds
from personalab.replies.judge import compare_pair
from tests.conftest import ROOT, run_cli
from tests.helpers import ScriptedBackend


@pytest.fixture
def work(embedder, offline_backend, settings):
    return harness.Workspace(embedder, settings.replace(max_tokens=40), offline_backend)


def test_recall_task_scores_every_setting_on_both_probe_sets(work):
    """Recall and MRR per retrieval setting, for persona probes and preference probes."""
    rows = harness.run("recall", work, harness.Job(), limit=3)
    summary = [r for r in rows if r.get("summary")]
    assert {r["setting"] for r in summary} == set(harness.SETTINGS)
    assert {r["set"] for r in summary} == {"persona probes", "preference"}
    fused = next(r for r in summary if r["setting"] == "fused" and r["set"] == "persona probes")
    assert fused["questions"] == 3 and 0 <= fused["mrr"] <= fused["recall"] <= 1
    assert fused["recall"] == 1.0  # a seed fact always reaches the prompt of its probe


@pytest.mark.slow
def test_preference_following_with_the_real_model_and_its_checks(work):
    """Scripted conversations (preference, distractors, question) are answered and checked."""
    rows = harness.run("preference", work, harness.Job(), limit=2, distractors=(2, 10))
    summary = [r for r in rows if r.get("summary")]
    assert [(r["distractors"], r["kind"]) for r in summary] == [
        (2, "generic"),
        (2, "personalized"),
        (10, "generic"),
        (10, "personalized"),
    ]
    assert all(r["conversations"] == 2 and 0 <= r["followed"] <= 1 for r in summary)
    detail = [r for r in rows if not r.get("summary")]
    assert all(isinstance(r["followed"], bool) and r["seconds"] > 0 for r in detail)


@pytest.mark.slow
def test_win_rates_from_checks_when_there_is_no_judge(work):
    """Generic vs personalized per persona, with a Wilson interval, decided by the checks."""
    rows = harness.run("winrate", work, harness.Job(), limit=1)
    summary = [r for r in rows if r.get("summary")]
    assert len(summary) >= 12 and all(r["decided_by"] == "checks" for r in summary)
    assert all(r["games"] == 1 and 0 <= r["low"] <= r["rate"] <= r["high"] <= 1 for r in summary)


@pytest.mark.parametrize(
    "answers, verdict",
    [(("A", "B"), "first"), (("B", "A"), "second"), (("A", "A"), "tie"), (("tie", "tie"), "tie")],
)
def test_the_pairwise_judge_asks_twice_with_positions_swapped(answers, verdict):
    """The judge sees the two replies in both orders; only a verdict that survives the swap
    counts, a split one is a tie."""
    backend = ScriptedBackend(*[[json.dumps({"better": a, "explanation": ""})] for a in answers])
    got = compare_pair(Judge(backend), ["She is vegan."], "Dinner?", "Lentil curry.", "Steak.")
    shown = [json.loads(call[0][1].content) for call in backend.calls]
    assert [(s["reply_A"], s["reply_B"]) for s in shown] == [
        ("Lentil curry.", "Steak."),
        ("Steak.", "Lentil curry."),
    ]
    assert got == verdict


def test_cancelling_a_run_midway_stops_it(work):
    """A job cancelled after its first item raises Cancelled instead of returning rows."""
    job = harness.Job()
    job.listener = lambda done, total: job.cancel() if done >= 1 else None
    with pytest.raises(harness.Cancelled):
        harness.run("recall", work, job, limit=3)


def test_a_run_cancelled_on_the_page_saves_nothing(work, tmp_path):
    """The Evaluate page's run, cancelled, says nothing was saved and writes no results."""
    from app_pages.ui import eval_view  # the Evaluate page's run: saves only when it finishes

    record = eval_view.start("recall", work, {"limit": 3}, {})
    record["job"].cancel()
    record["thread"].join(300)
    assert record["error"] == "cancelled: nothing was saved" and record["saved"] is None
    assert not (tmp_path / "eval-results").exists()


def test_a_save_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    """Fault: the disk refuses the last rename; no JSON, CSV or part file is left behind."""
    real = runs.os.replace

    def refuse_json(source, target):
        if str(target).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(runs.os, "replace", refuse_json)
    with pytest.raises(OSError):
        runs.save("recall", [{"setting": "fused"}], {}, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_saved_runs_reload_into_the_page_and_the_report(work, settings, isolated_env):
    """A saved run shows on the Evaluate page and in the generated docs/benchmarks.md."""
    rows = harness.run("recall", work, harness.Job(), limit=2)
    path = runs.save("recall", rows, runs.describe(settings, model="", data="built-in probes"))
    assert path.with_suffix(".csv").is_file()
    record = json.loads(path.read_text())
    assert (
        record["meta"]["settings"]["memory_k"]
        and "openai_api_key" not in record["meta"]["settings"]
    )
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception
    assert any("recall" in m.value for m in at.markdown)
    frame = at.dataframe[0].value
    assert set(frame["setting"]) == set(harness.SETTINGS)
    stale, other = Path("docs/runs/20200101-000000-recall.json"), Path("docs/runs/x-winrate.json")
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    other.write_text("{}")
    out = write_report(Path("bench-results"), Path("eval-results"), Path("docs/benchmarks.md"))
    text = out.read_text()
    assert "python -m personalab eval recall" in text and path.name in text
    assert (Path("docs/runs") / path.name).is_file()
    # the copy of the recall run it replaced goes; a run of a kind not found again stays
    assert not stale.exists() and other.exists()


def test_eval_command_prints_json_to_stdout_and_progress_to_stderr(isolated_env):
    """`eval recall --json` prints only the summary JSON on stdout and saves JSON and CSV."""
    out = run_cli("eval", "recall", "--limit", "1", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert {r["setting"] for r in summary} == set(harness.SETTINGS)
    assert "saved eval-results/" in out.stderr
    saved = list((isolated_env / "eval-results").glob("*-recall.*"))
    assert sorted(p.suffix for p in saved) == [".csv", ".json"]


def test_bench_facts_prints_json_with_each_figure_beside_its_peer(isolated_env):
    """`bench facts --json`: extractor and dedup figures on stdout alone, ours and the peers',
    saved for the report, which shows them as tables."""
    out = run_cli("bench", "facts", "--split", "dev", "--json")
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)["facts"]
    extractor, dedup = facts["extractor"], facts["dedup"]
    ours, floor = extractor["rules + fact model"], extractor["first-person floor"]
    assert ours["precision"] > floor["precision"] and "rules alone" in extractor
    assert ours["flooded_turns"] < floor["flooded_turns"]
    for peer in ("slots + cosine", "cosine only"):
        assert dedup[peer]["facts_stored"] < dedup[peer]["statements_taken"]  # merges happen
    assert "dedup cosine only:" in out.stderr
    report = write_report(Path("bench-results"), Path("eval-results"), Path("docs/benchmarks.md"))
    text = report.read_text()
    assert "python -m personalab bench facts --split dev" in text
    assert "| cosine only |" in text and "| rules + fact model |" in text


def test_bench_latency_prints_each_write_beside_the_recall_and_its_floor(isolated_env):
    """`bench latency --json`: recall and floor, the three kinds of write (a turn stating
    facts among them), a new process's first recall and a machine's first start, on stdout
    alone; the report shows them."""
    out = run_cli("bench", "latency", "--sizes", "300", "--queries", "4", "--json")
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)["latency"].values()
    for figure in ("recall", "floor", "write", "write_cold", "write_facts"):
        assert row[figure]["p50_ms"] > 0, figure
    assert row["first_turn"]["first_recall_s"] > 0
    # a machine's first start: the embedder exported anew, and still run on onnxruntime
    assert row["first_turn_export"]["runtime"] == row["embedder_runtime"] == "onnxruntime"
    assert row["first_turn_export"]["start_s"] > row["first_turn"]["start_s"]
    report = write_report(Path("bench-results"), Path("eval-results"), Path("docs/benchmarks.md"))
    assert "| 300 |" in report.read_text() and "not measured" not in report.read_text()
    assert "A machine's first start exports the embedder" in report.read_text()


class OddsJudge:
    """A judge backend that gives the odds of its first answer token: P('A') is looked up by
    which reply sits in position A."""

    name = "odds"

    def __init__(self, a_given: dict[str, float]):
        self.a_given = a_given
        self.asked: list[str] = []

    def first_token_odds(self, messages, choices):
        text = messages[-1].content
        self.asked.append(text)
        first = text.split("Reply A: ", 1)[1].split("\n", 1)[0]
        return {"A": self.a_given[first], "B": 1 - self.a_given[first]}


@pytest.mark.parametrize(
    "a_given, verdict",
    [
        ({"Lentil curry.": 0.7, "Steak.": 0.4}, "first"),  # prefers the curry in both orders
        ({"Lentil curry.": 0.95, "Steak.": 0.75}, "first"),  # always "A", but less for steak
        ({"Lentil curry.": 0.9, "Steak.": 0.9}, "tie"),  # only a position: no preference
        ({"Lentil curry.": 0.3, "Steak.": 0.8}, "second"),
    ],
)
def test_by_odds_the_judges_lean_to_a_position_cancels_out(a_given, verdict):
    """A judge that would answer 'A' whatever sits there still leans between the replies; its
    odds in both orders, averaged, cancel the position and keep the lean."""
    backend = OddsJudge(a_given)
    got = compare_pair(Judge(backend), ["She is vegan."], "Dinner?", "Lentil curry.", "Steak.")
    assert got == verdict
    assert ["Reply A: Lentil curry." in t for t in backend.asked] == [True, False]
    assert all("She is vegan." in t and "Dinner?" in t for t in backend.asked)


def test_a_judge_whose_server_gives_no_odds_is_asked_for_its_answers():
    """A server without token probabilities: the pairwise verdict falls back to the judge's
    written answers, in both orders, instead of failing the run."""

    class WordsOnly(ScriptedBackend):
        def first_token_odds(self, messages, choices):
            raise NoOdds("http://127.0.0.1:9/v1 gives no token probabilities")

    backend = WordsOnly(*[[json.dumps({"better": a, "explanation": ""})] for a in ("B", "A")])
    got = compare_pair(Judge(backend), ["She is vegan."], "Dinner?", "Steak.", "Lentil curry.")
    assert got == "second" and len(backend.calls) == 2


def test_a_judge_whose_server_fails_is_not_asked_a_second_way():
    """A server that is down fails the verdict once, with its message, instead of being asked
    again for written answers (and making the user wait out a second timeout)."""

    class Down(ScriptedBackend):
        def first_token_odds(self, messages, choices):
            raise BackendError("cannot reach http://127.0.0.1:9/v1")

    backend = Down()
    with pytest.raises(BackendError, match="cannot reach"):
        compare_pair(Judge(backend), ["She is vegan."], "Dinner?", "Steak.", "Lentil curry.")
    assert backend.calls == []
