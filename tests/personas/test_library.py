"""The persona library: free ids, copies, deletion, avatars, and the `persona` commands."""

import json

import pytest
import yaml

from personalab import PersonaError, PersonaLibrary
from personalab.personas.model import parse_persona
from tests.conftest import run_cli as cli


def test_a_copy_gets_a_free_id_and_keeps_everything(isolated_env):
    """Duplicating keeps every field and seed under a new, numbered file; nothing is replaced."""
    lib = PersonaLibrary(isolated_env / "personas")
    copy = lib.duplicate("lena-vegan-marathoner")
    again = lib.duplicate("lena-vegan-marathoner")
    assert copy.id != again.id and copy.name.endswith("(copy)")
    original = lib.get("lena-vegan-marathoner")
    assert lib.get(copy.id).seed == original.seed and lib.get(copy.id).checks() == original.checks()


def files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_hostile_name_stays_inside_the_folder(isolated_env):
    """A persona called ../../etc/passwd is a new file in the library folder, nothing more."""
    lib = PersonaLibrary(isolated_env / "personas")
    before = files(isolated_env / "personas")
    added = lib.add(parse_persona({"name": "../../etc/passwd"}))
    assert (isolated_env / "personas" / f"{added.id}.yaml").is_file()
    after = files(isolated_env / "personas")
    assert {k: v for k, v in after.items() if k in before} == before


def test_a_clashing_import_gets_a_new_id_and_name(isolated_env):
    """Adding a persona whose name exists makes "Name (2)" in a new file; the first stays."""
    lib = PersonaLibrary(isolated_env / "personas")
    before = files(isolated_env / "personas")
    clash = lib.add(parse_persona({"name": "Lena Vogel"}))
    assert clash.name == "Lena Vogel (2)" and f"{clash.id}.yaml" not in before
    assert (
        files(isolated_env / "personas")["lena-vegan-marathoner.yaml"]
        == before["lena-vegan-marathoner.yaml"]
    )


def test_an_avatar_that_is_not_a_png_is_refused(isolated_env):
    """Non-PNG data is refused with a message naming the format."""
    lib = PersonaLibrary(isolated_env / "personas")
    with pytest.raises(PersonaError, match="PNG"):
        lib.save_avatar("x", b"GIF89a....")


def test_an_avatar_is_stored_inside_the_folder(isolated_env):
    """An avatar for a hostile id is stored beside the persona files, not elsewhere."""
    lib = PersonaLibrary(isolated_env / "personas")
    name = lib.save_avatar("../../x", b"\x89PNG\r\n\x1a\nfake")
    assert (isolated_env / "personas" / name).is_file() and "/" not in name


def test_delete_removes_the_file_only(isolated_env):
    """Deleting a persona removes its YAML; other personas stay."""
    lib = PersonaLibrary(isolated_env / "personas")
    count = len(lib.load()[0])
    lib.delete("sofia-nursing-student")
    assert len(lib.load()[0]) == count - 1
    with pytest.raises(PersonaError, match="no persona"):
        lib.get("sofia-nursing-student")


@pytest.mark.slow
def test_persona_commands_list_show_export_and_delete(isolated_env):
    """`persona list --json`, `show`, `export --format yaml`, and `delete` work end to end, and a
    broken file is named on stderr."""
    (isolated_env / "personas" / "oops.yaml").write_text("name: [\n")
    listing = cli("persona", "list", "--json")
    assert listing.returncode == 0 and "broken: oops.yaml" in listing.stderr
    rows = json.loads(listing.stdout)
    assert len(rows) >= 12 and all(r["seed_memories"] > 0 for r in rows)
    shown = cli("persona", "show", "lena-vegan-marathoner")
    assert shown.returncode == 0 and "strictly vegan" in shown.stdout
    out = isolated_env / "lena.yaml"
    exported = cli(
        "persona", "export", "lena-vegan-marathoner", "--format", "yaml", "--out", str(out)
    )
    assert (
        exported.returncode == 0
        and parse_persona(yaml.safe_load(out.read_text())).name == "Lena Vogel"
    )
    assert cli("persona", "delete", "lena-vegan-marathoner").returncode == 0
    assert cli("persona", "show", "lena-vegan-marathoner").returncode == 1
