"""Storage faults on real file systems: a disk that fills, a folder that turns read-only."""

import pytest

from personalab.errors import MemoryStoreError
from personalab.memory.store import MemoryStore, open_client
from personalab.records import NewMemory
from tests.conftest import run_cli
from tests.helpers import after_restart, fill, read_only, small_disk

PERSONA = "ananya-olympiad-student"


def say(store: MemoryStore, text: str) -> None:
    store.remember("ana", "coach", [NewMemory(text, "user", "s")])


def shown(store: MemoryStore) -> list[str]:
    return sorted(m.text for m in store.list("ana", "coach"))  # what the app shows


def restarted(folder, text: str) -> list[str]:
    """What Chroma holds after `text` is added, read by a new process (after a failed write,
    this process's Chroma may show a write it acknowledged only later)."""
    add = f"s.remember('ana', 'coach', [NewMemory({text!r}, 'user', 's')])"
    return after_restart(folder, f"{add}\nsorted(m.text for m in s.stored('ana', 'coach'))")


def test_a_disk_that_fills_mid_session_says_so_and_loses_nothing(tmp_path, embedder):
    """On a real file system filled to the last byte, a write says the disk is full; what
    was stored before stays, nothing of the failed write is half there, and once space is
    freed the next write goes through."""
    with small_disk(tmp_path / "disk") as disk:
        store = MemoryStore(open_client(disk / "memory"), embedder)
        say(store, "I live in Ghent.")
        filler = fill(disk)
        with pytest.raises(MemoryStoreError, match="disk is full; free some space"):
            for n in range(200):  # SQLite fills its free pages first
                say(store, f"Turn {n}: " + "words " * 200)
        kept = shown(store)
        assert "I live in Ghent." in kept and f"Turn {n}: " not in " ".join(kept)
        filler.unlink()
        say(store, "I have a dog called Rex.")
        assert shown(store) == sorted(kept + ["I have a dog called Rex."])
        assert restarted(disk / "memory", "I cycle.") == sorted(shown(store) + ["I cycle."])


def test_a_folder_that_turns_read_only_loses_nothing_and_says_why(tmp_path, embedder):
    """The memory folder turned read-only under a running store. A write is refused only when
    Chroma must open a file (how many are varies from machine to machine, from none to most);
    each refusal names the folder and the way out. After a restart on the writable folder,
    every acknowledged write is there once, the refused ones are not, and writing works."""
    folder = tmp_path / "memory"
    store = MemoryStore(open_client(folder), embedder)
    say(store, "I live in Ghent.")
    acknowledged = ["I live in Ghent."]
    with read_only(folder):
        for n in range(30):
            text = f"Turn {n} while the folder is read-only."
            try:
                say(store, text)
                acknowledged.append(text)
            except MemoryStoreError as exc:
                assert f"memory folder {folder} is read-only" in str(exc), exc
                assert "PERSONALAB_MEMORY_DIR" in str(exc)
        assert shown(store) == sorted(acknowledged)
    assert restarted(folder, "I cycle.") == sorted(acknowledged + ["I cycle."])


def test_the_cli_on_a_read_only_memory_folder_names_it_and_the_way_out(isolated_env):
    """`chat` and `memory list` started on a read-only folder exit 1 with a message naming the
    folder and PERSONALAB_MEMORY_DIR, and the folder's contents are untouched."""
    folder = isolated_env / "memory"
    added = run_cli("memory", "add", "--persona", PERSONA, "I live in Pune.")
    assert added.returncode == 0, added.stderr
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with read_only(folder):
        for args in (("memory", "list"), ("chat", "Hello there")):
            done = run_cli(*args, "--persona", PERSONA)
            assert done.returncode == 1
            assert f"memory directory {folder} is on a read-only file system" in done.stderr
            assert "PERSONALAB_MEMORY_DIR" in done.stderr and "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    listed = run_cli("memory", "list", "--persona", PERSONA)
    assert "I live in Pune." in listed.stdout
