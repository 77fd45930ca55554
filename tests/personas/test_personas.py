"""Personas: validation, the shipped library, broken files, safe saving, unknown fields kept."""

import pytest

from personalab import Persona, PersonaError, PersonaLibrary
from personalab.personas.model import parse_persona
from personalab.text.slug import slugify
from tests.conftest import LIBRARY


def test_shipped_library_has_twelve_diverse_valid_personas():
    """At least 12 personas load with no broken file, each with constraints, a seed and probes;
    most carry machine checks, and several ask for answers in another language."""
    personas, broken = PersonaLibrary(LIBRARY).load()
    assert broken == []
    assert len(personas) >= 12
    for p in personas:
        assert p.about and p.constraints and p.preferences and p.style, p.name
        assert p.seed.size and p.probes, p.name
    assert sum(1 for p in personas if p.checks()) >= 8
    assert sum(1 for p in personas for c in p.checks() if c.language) >= 2
    assert any(not p.name.isascii() for p in personas)
    assert len({p.id for p in personas}) == len(personas)


def test_broken_file_is_reported_by_name_and_the_rest_load(isolated_env):
    """Invalid YAML or an invalid persona is named; every valid file still loads."""
    folder = isolated_env / "personas"
    before = len(PersonaLibrary(folder).load()[0])
    (folder / "broken.yaml").write_text("name: [unclosed\n")
    (folder / "nameless.yaml").write_text("about: no name here\n")
    personas, broken = PersonaLibrary(folder).load()
    assert len(personas) == before
    reasons = {b.file_name: b.reason for b in broken}
    assert "not valid YAML" in reasons["broken.yaml"]
    assert "name" in reasons["nameless.yaml"]


def test_validation_messages_are_readable():
    """An empty name and an overlong item each get a plain message."""
    with pytest.raises(PersonaError, match="name: must not be empty"):
        parse_persona({"name": "  "})
    with pytest.raises(PersonaError, match="interests.*at most 2000"):
        parse_persona({"name": "A", "interests": ["x" * 2001]})
    with pytest.raises(PersonaError, match="constraints: must be a list"):
        parse_persona({"name": "A", "constraints": 5})
    with pytest.raises(PersonaError, match="mapping"):
        parse_persona(["not", "a", "mapping"])


def test_list_fields_accept_text_with_one_item_per_line():
    """Lists may be typed as lines or semicolons; empty items are dropped."""
    p = parse_persona({"name": "A", "goals": "run a marathon\n\nlearn Python; save money"})
    assert p.goals == ["run a marathon", "learn Python", "save money"]


def test_unknown_fields_survive_a_round_trip(tmp_path):
    """Fields PersonaLab does not know (e.g. from a character card) are written back."""
    lib = PersonaLibrary(tmp_path)
    lib.save(parse_persona({"name": "Card Import", "creator_notes": "keep me", "x": {"y": [1]}}))
    loaded = lib.get("card-import")
    assert loaded.model_extra == {"creator_notes": "keep me", "x": {"y": [1]}}


def test_save_uses_a_safe_file_name_inside_the_folder(tmp_path):
    """A hostile name cannot escape the folder: it becomes a plain file name there."""
    lib = PersonaLibrary(tmp_path / "lib")
    path = lib.save(Persona(name="../../etc/passwd Ünïcode"))
    assert path.parent == tmp_path / "lib"
    assert path.name == "etc-passwd-unicode.yaml"
    assert slugify("!!!") == "persona"


def test_save_refuses_to_overwrite_a_persona_of_the_same_name(tmp_path):
    """A second persona with the same name is refused, and the first file is kept."""
    lib = PersonaLibrary(tmp_path / "lib")
    path = lib.save(Persona(name="Kofi", about="first"))
    with pytest.raises(PersonaError, match="already exists"):
        lib.save(Persona(name="Kofi", about="second"))
    assert "first" in path.read_text()


def test_get_names_the_known_personas_when_missing():
    """Asking for an unknown persona lists the ones that exist."""
    with pytest.raises(PersonaError, match="known: .*ananya-olympiad-student"):
        PersonaLibrary(LIBRARY).get("nobody")
