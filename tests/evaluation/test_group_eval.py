"""`eval group`: the group probes, each reply checked for every member; the summary's figures."""

import json

import pytest

from personalab.evaluation.group_eval import load, summarize, table
from tests.conftest import run_cli


def row(system: str, passed: dict, clash: bool = False, found=None, echo=False) -> dict:
    out = {"probe": "p", "system": system, "clash": clash, "members": len(passed),
           "kept_all": all(passed.values()), "passed": passed, "seconds": 1.0,
           "echo": echo, "words": 3 if echo else 12}  # fmt: skip
    return out | ({"clashes_found": found} if found is not None else {})


def test_the_probes_hold_thirty_test_groups_of_two_to_four_with_clashes():
    probes = load("test")
    assert len(probes) >= 30 and all(2 <= len(p["members"]) <= 4 for p in probes)
    assert any(p["clash"] for p in probes) and sum(not p["clash"] for p in probes) >= 20
    assert {p["id"] for p in probes}.isdisjoint({p["id"] for p in load("dev")})


def test_the_summary_counts_kept_all_the_worst_member_and_clash_detection():
    """Kept-all is over the probes one answer can satisfy; the worst member is the one with
    the lowest pass rate; clash detection is right when it finds a clash exactly where one
    is."""
    rows = [
        row("group", {"a": True, "b": False}, found=[]),
        row("group", {"a": True, "b": True}, found=[], echo=True),
        row("group", {"a": False, "b": False}, clash=True, found=["x"]),  # not in kept-all
        row("group", {"a": True, "b": True}, clash=True, found=[]),  # a missed clash
    ]
    (group, detection) = summarize(rows)
    assert group["replies"] == 2 and group["kept_every_member"] == 0.5
    assert group["member_pass"] == 0.75 and group["worst_member"] == "b"
    assert group["worst_member_pass"] == 0.5
    assert group["echoes"] == 0.5 and group["words_p50"] == 7.5  # a recital beside its keeps
    assert detection["system"] == "clash detection" and detection["accuracy"] == 0.75
    shown = "\n".join(table([group, detection]))  # as docs/benchmarks.md shows it
    assert "| group | 2 | 50% (" in shown and "| b (50%) | 50% | 7.5 |" in shown
    assert "Clash detection on 4 probes" in shown and "75%" in shown and "90 %" in shown


@pytest.mark.slow
def test_eval_group_runs_every_system_on_a_probe_and_saves_the_run(isolated_env):
    """`eval group --limit 1 --json`: a summary row for generic, individual, group and group
    with the guard, and for clash detection; the run is saved."""
    done = run_cli("eval", "group", "--limit", "1", "--json", "--out", str(isolated_env / "ev"))
    assert done.returncode == 0, done.stderr
    systems = [r["system"] for r in json.loads(done.stdout)]
    assert systems == ["generic", "individual", "group", "group + guard", "clash detection"]
    assert list((isolated_env / "ev").glob("*-group.json"))


def test_eval_group_runs_only_the_systems_asked_on_the_split_asked(isolated_env):
    """`--split dev --systems guarded`: only the guarded group replies, on a dev probe; an
    unknown system is refused with the ones to choose from."""
    out = str(isolated_env / "ev")
    done = run_cli("eval", "group", "--split", "dev", "--systems", "guarded", "--limit", "1",
                   "--json", "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert all(r.get("summary") for r in summary)  # summary rows, not the replies themselves
    systems = [r["system"] for r in summary]
    assert systems[0] == "group + guard" and not {"generic", "individual", "group"} & set(systems)
    (saved,) = (isolated_env / "ev").glob("*-group.json")
    rows = [r for r in json.loads(saved.read_text())["rows"] if not r.get("summary")]
    assert {r["probe"] for r in rows} == {"gd01"}
    bad = run_cli("eval", "group", "--systems", "solo", "--limit", "1", "--out", out)
    assert bad.returncode == 1 and "choose from generic, individual, group, guarded" in bad.stderr
