"""Where a fact matters: situations written once per fact, kept with it, and used by recall."""

import json

import pytest

from personalab import Engine, MemoryStoreError, NewMemory
from personalab.facts.book import FactChange
from personalab.memory.store import MemoryStore, open_client
from personalab.recall.ranking import RecallPolicy, recall
from personalab.records import parse_export
from tests.conftest import run_cli
from tests.helpers import ScriptedBackend

FACTS = [
    "Our street is car-free.",
    "I don't drink alcohol.",
    "I work as a nurse on night shifts.",
    "My daughter Mia is six.",
    "I grew up in Porto.",
    "I play the cello in an amateur orchestra.",
    "I am saving for a flat in Leeds.",
]
SOFA = "Can you plan the delivery of our new sofa?"


def stored_facts(store, persona: str = "p") -> dict[str, str]:
    store.remember("ana", persona, [NewMemory(f, "user", "s", kind="fact") for f in FACTS])
    return {m.text: m.id for m in store.list("ana", persona, kind="fact")}


def first_fact(store, situations: bool) -> str:
    found = recall(store, "ana", "p", SOFA, "s", RecallPolicy(situations=situations))
    return found.facts[0].memory.text


def test_a_fact_is_found_through_where_it_matters(store):
    """A sofa delivery shares no word with "Our street is car-free": with its situations the
    fact ranks first among the user's facts, as the prompt takes them when not all fit;
    without them, or with recall told to ignore them, it does not."""
    ids = stored_facts(store)
    before = first_fact(store, situations=True)
    assert before != "Our street is car-free."
    where = ["a furniture delivery", "moving house", "parking for guests", "ordering a taxi"]
    store.set_situations("ana", "p", ids["Our street is car-free."], where)
    assert first_fact(store, situations=True) == "Our street is car-free."
    assert first_fact(store, situations=False) == before


def test_situations_are_kept_exported_imported_edited_and_deleted_with_their_fact(
    store, tmp_path, embedder
):
    """They survive a restart (read back from Chroma), go out in the export and come back on
    import, where recall uses them again; a secret in one is redacted; clearing them or
    deleting the fact leaves none behind."""
    ids = stored_facts(store)
    fact, other = ids["Our street is car-free."], ids["I grew up in Porto."]
    where = ["a furniture  delivery", "moving house", "parking for guests", "ordering a taxi"]
    store.set_situations("ana", "p", fact, where)
    store.set_situations("ana", "p", other, ["visiting family", "token sk-proj-" + "a" * 40])
    again = MemoryStore(open_client(tmp_path / "chroma"), embedder)  # as a restart opens it
    kept = again.get("ana", "p", fact)
    assert kept.situations[:2] == ("a furniture delivery", "moving house")
    assert "sk-proj" not in json.dumps(again.get("ana", "p", other).to_json())
    lines = list(again.export_jsonl("ana", "p"))
    assert any('"a furniture delivery"' in line for line in lines)
    again.restore("ana", "q", parse_export(lines))
    assert again.get("ana", "q", fact).situations == kept.situations
    found = recall(again, "ana", "q", SOFA, "s", RecallPolicy())
    assert found.facts[0].memory.id == fact
    again.set_situations("ana", "q", fact, [])
    assert again.get("ana", "q", fact).situations == ()
    assert recall(again, "ana", "q", SOFA, "s", RecallPolicy()).facts[0].memory.id != fact
    again.delete("ana", "p", [fact])
    assert again.get("ana", "p", fact) is None


def test_bad_situations_are_refused_with_a_message_and_lose_nothing(store):
    """Too many, too long, or on a turn: a clear error, and the fact keeps what it had."""
    ids = stored_facts(store)
    fact = ids["I grew up in Porto."]
    store.set_situations("ana", "p", fact, ["trips to Portugal"])
    with pytest.raises(MemoryStoreError, match="at most 8 situations"):
        store.set_situations("ana", "p", fact, [f"situation {n}" for n in range(9)])
    with pytest.raises(MemoryStoreError, match="1-80 characters"):
        store.set_situations("ana", "p", fact, ["x" * 81])
    assert store.get("ana", "p", fact).situations == ("trips to Portugal",)
    (turn,) = store.remember("ana", "p", [NewMemory("hello there", "user", "s")])
    with pytest.raises(MemoryStoreError, match="no fact"):
        store.set_situations("ana", "p", turn.id, ["a party"])


class Writer(ScriptedBackend):
    """A scripted model that may write situations, on this machine or not."""

    writes_situations = True

    def __init__(self, *replies, local: bool = True):
        super().__init__(*replies)
        self.is_local = local


def answer(*situations: str) -> list[str]:
    return [json.dumps({"situations": list(situations)})]


def test_the_fact_model_writes_where_each_new_fact_matters(store, settings):
    """For a fact just learned, the model's situations are stored with it (those that only
    repeat the fact are dropped); a restated fact is not asked about again; an answer that is
    not JSON leaves the fact as it was."""
    (fact,) = store.remember("ana", "p", [NewMemory("I don't drink alcohol.", "user", "s",
                                                     kind="fact")])  # fmt: skip
    (other,) = store.remember("ana", "p", [NewMemory("I grew up in Porto.", "user", "s",
                                                      kind="fact")])  # fmt: skip
    writer = Writer(answer("a party", "I don't drink alcohol", "choosing a gift"), ["not json"])
    engine = Engine(store, writer, settings.replace(fact_extraction="rules"))
    changes = [FactChange("added", fact), FactChange("restated", other), FactChange("added", other)]
    assert engine.expand("ana", "p", changes) == 1
    assert store.get("ana", "p", fact.id).situations == ("a party", "choosing a gift")
    assert store.get("ana", "p", other.id).situations == ()
    assert len(writer.calls) == 2  # the restated fact was not sent
    assert "I don't drink alcohol." in writer.calls[0][0][-1].content


def test_a_private_fact_never_goes_to_a_model_off_this_machine(store, settings):
    """With a remote model told to write situations, a private fact is not sent to it."""
    (secret,) = store.remember("ana", "p", [NewMemory("I take lithium.", "user", "s",
                                                       kind="fact", private=True)])  # fmt: skip
    remote = Writer(answer("a doctor's visit"), local=False)
    engine = Engine(store, remote, settings.replace(fact_situations="on"))
    assert engine.expand("ana", "p", [FactChange("added", secret)]) == 0
    assert remote.calls == []


def test_without_a_capable_local_model_nothing_is_written(store, settings, offline_backend):
    """The bundled 135M model does not write situations, nor does anything with "off"."""
    assert Engine(store, offline_backend, settings).situations_by is None
    assert Engine(store, Writer(), settings.replace(fact_situations="off")).situations_by is None
    assert Engine(store, Writer(), settings).situations_by is not None


def test_situations_are_set_and_shown_from_the_command_line(isolated_env):
    """`memory edit --situations 'a; b'` sets them, `memory history` shows them, '' clears."""
    base = ["--user", "ana", "--persona", "lena-vegan-marathoner"]
    added = run_cli("memory", "add", *base, "I don't drink alcohol.")
    assert added.returncode == 0, added.stderr
    listed = json.loads(run_cli("memory", "list", *base, "--json").stdout)
    fact = next(m for m in listed if m["kind"] == "fact" and "alcohol" in m["text"])
    turn = next(m for m in listed if m["kind"] == "turn" and "alcohol" in m["text"])
    done = run_cli("memory", "edit", *base, fact["id"][:8], "--situations", "a party; gifts")
    assert done.returncode == 0, done.stderr
    shown = run_cli("memory", "history", *base, fact["id"][:8])
    assert "a party; gifts" in shown.stdout
    rows = json.loads(run_cli("memory", "history", *base, fact["id"][:8], "--json").stdout)
    assert rows[-1]["situations"] == ["a party", "gifts"]
    run_cli("memory", "edit", *base, fact["id"][:8], "--situations", "")
    rows = json.loads(run_cli("memory", "history", *base, fact["id"][:8], "--json").stdout)
    assert rows[-1]["situations"] == []
    refused = run_cli("memory", "edit", *base, turn["id"][:8], "--situations", "x")
    assert refused.returncode != 0 and "only a fact" in refused.stderr
