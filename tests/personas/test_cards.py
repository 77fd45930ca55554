"""Card import/export: formats, mappings, round trips, hostile input and fuzzing."""

from __future__ import annotations

import ast
import base64
import io
import json
import socket
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from personalab.errors import PersonaError
from personalab.personas import card_io as card_files
from personalab.personas import cards
from personalab.personas.cards import (
    MAX_IMPORT_BYTES,
    ImportedPersona,
    card_json,
    export,
    import_file,
    remap,
)
from personalab.personas.library import PersonaLibrary
from personalab.personas.model import Persona, parse_persona

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cards"
GOOD = ["v1.json", "v2_book_untrusted.json", "v3.json", "pygmalion.json", "personachat.txt",
        "description.txt", "persona.yaml", "v3_in_chara.png"]  # fmt: skip
SUFFIX = {"yaml": "yaml", "card-v2": "json", "card-v3": "json", "card-png": "png"}
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def load(name: str, as_role: str | None = None) -> ImportedPersona:
    return import_file((FIXTURES / name).read_bytes(), name, as_role)


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fields(persona: Persona) -> dict:
    """Everything PersonaLab understands, without the kept card and its import record."""
    return persona.model_dump(exclude={"card", "imported_from"})


def b64(obj: object) -> str:
    return base64.b64encode(json.dumps(obj, ensure_ascii=False).encode("utf-8")).decode("ascii")


def png(chunks: dict[str, str], size=(16, 16), kind: str = "tEXt") -> bytes:
    """A small PNG with the given text chunks (tEXt, zTXt or iTXt)."""
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        if kind == "iTXt":
            info.add_itxt(key, value)
        else:
            info.add_text(key, value, zip=kind == "zTXt")
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def v2(**data: object) -> dict:
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Test", **data}}


def import_or_error(data: bytes, filename: str) -> ImportedPersona | None:
    try:
        return import_file(data, filename)
    except PersonaError as exc:
        assert str(exc)
        return None


# -- each format ---------------------------------------------------------------------------


def test_v1_card_maps_to_the_assistant_by_default():
    """A V1 card's character is who the assistant plays: description, personality, scenario."""
    got = load("v1.json")
    p = got.persona
    assert (got.format, got.mapped_to, got.avatar) == ("card-v1", "assistant", None)
    assert p.name == "Captain Mira Holt"
    assert p.assistant_role.startswith("Captain Mira Holt is a retired starship captain")
    assert "Personality: Calm, dry humour" in p.assistant_role
    assert "Scenario: the user walks into the tea shop" in p.assistant_role
    assert "character the assistant plays" in p.about
    assert p.tags == ["sci-fi", "slice of life"]
    assert p.card == fixture_json("v1.json")
    assert p.imported_from == {"format": "card-v1", "mapped_to": "assistant"}


def test_v2_card_is_kept_whole_and_its_lorebook_becomes_facts():
    """V2 data is stored whole under `card`; enabled lorebook entries become trimmed seed facts."""
    got = load("v2_book_untrusted.json")
    assert (got.format, got.mapped_to) == ("card-v2", "assistant")
    assert got.persona.card == fixture_json("v2_book_untrusted.json")["data"]
    assert got.persona.seed.facts == [
        "Vell was a river city that flooded 200 years ago.",
        "The lost map shows the way to the sunken reading room.",
    ]
    assert got.persona.tags == ["fantasy", "library"]
    assert "system_prompt" in " ".join(got.notes)
    assert "Ignore all previous" not in got.persona.assistant_role  # card prompts are not used


def test_v3_card_keeps_its_v3_fields():
    """A V3 card imports as V3 and keeps assets, nickname, multilingual notes and dates."""
    got = load("v3.json")
    assert (got.format, got.persona.name) == ("card-v3", "Noor")
    assert got.persona.card == fixture_json("v3.json")["data"]
    assert got.persona.card["creator_notes_multilingual"]["ar"] == "بطاقة اختبار"


def test_pygmalion_card_maps_like_a_card():
    """char_name/char_persona/world_scenario map to name, description and scenario."""
    got = load("pygmalion.json")
    assert (got.format, got.mapped_to, got.persona.name) == ("pygmalion", "assistant", "Bram")
    assert got.persona.assistant_role.startswith("Bram is a grumpy blacksmith")
    assert "Scenario: A village market" in got.persona.assistant_role
    assert got.persona.card["char_greeting"] == "What do you want? I'm busy."


def test_personachat_sentences_become_facts_and_about():
    """'your persona:' lines become readable seed facts and about; partner lines are noted."""
    got = load("personachat.txt")
    facts = ["I have two dogs.", "My name is priya.", "I work as a night nurse.",
             "I am allergic to peanuts."]  # fmt: skip
    assert (got.format, got.mapped_to, got.persona.name) == ("personachat", "user", "Priya")
    assert got.persona.seed.facts == facts
    assert got.persona.about == " ".join(facts)
    assert any("partner" in note for note in got.notes)


def test_description_goes_to_about_with_the_name_from_its_words():
    """A one-paragraph description is `about`; 'My name is X' names the persona."""
    got = load("description.txt")
    text = (FIXTURES / "description.txt").read_text(encoding="utf-8").strip()
    assert (got.format, got.mapped_to, got.persona.name) == ("text", "user", "Tomás Ruiz")
    assert got.persona.about == text
    assert got.persona.assistant_role == ""


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I am Ana Lee, a nurse in Oslo.", "Ana Lee"),
        ("Her name was Maria and she sang.", "Maria"),
        ("I'm Olu. I fix bikes.", "Olu"),
        ("I am محمد, a teacher in Cairo.", "محمد"),
        ("I am a nurse in Oslo.", "quiet librarian"),
        ("Loves quiet mornings and strong coffee.", "quiet librarian"),
    ],
)
def test_description_name_comes_from_text_or_file_name(text, name):
    """'I am <Name>' / 'Name is <Name>' name the persona; otherwise the file's name does."""
    got = import_file(text.encode("utf-8"), "../uploads/quiet_librarian.txt")
    assert got.persona.name == name


def test_personalab_yaml_imports_as_it_is():
    """A PersonaLab YAML file imports field for field, unknown fields included."""
    got = load("persona.yaml")
    expected = parse_persona(yaml.safe_load((FIXTURES / "persona.yaml").read_text("utf-8")))
    assert (got.format, got.mapped_to) == ("yaml", "user")
    assert got.persona.model_dump() == expected.model_dump()
    assert got.persona.mood == "cheerful"


def test_format_comes_from_content_not_the_file_extension():
    """A JSON card named .png and a PNG card named .json are both read for what they are."""
    data = (FIXTURES / "v2_book_untrusted.json").read_bytes()
    assert import_file(data, "card.png").format == "card-v2"
    assert import_file((FIXTURES / "v3_in_chara.png").read_bytes(), "card.json").format == "card-v3"


def test_v3_json_in_a_chara_chunk_is_v3():
    """The version comes from the JSON's spec, so V3 JSON in a `chara` chunk is V3."""
    got = load("v3_in_chara.png")
    assert (got.format, got.persona.name) == ("card-v3", "Lumi")
    assert any("'chara' chunk" in note for note in got.notes)
    assert Image.open(io.BytesIO(got.avatar)).size == (32, 32)


@pytest.mark.parametrize(
    "chunks",
    [
        {"chara": b64(v2(name="Two")), "ccv3": b64({**v2(name="Three"), "spec": "chara_card_v3"})},
        {"ccv3": b64(v2(name="Two")), "chara": b64({**v2(name="Three"), "spec": "chara_card_v3"})},
    ],
)
def test_png_with_both_chunks_prefers_the_v3_card(chunks):
    """With chara and ccv3 chunks, the card whose JSON is V3 wins, whichever chunk holds it."""
    got = import_file(png(chunks), "both.png")
    assert (got.format, got.persona.name) == ("card-v3", "Three")


def test_png_falls_back_to_the_readable_chunk():
    """A garbage ccv3 chunk beside a good chara chunk imports the chara card, with a note."""
    got = import_file(png({"ccv3": "@@@garbage@@@", "chara": b64(v2(name="Ok"))}), "x.png")
    assert (got.format, got.persona.name) == ("card-v2", "Ok")
    assert any("ignored the unreadable 'ccv3'" in note for note in got.notes)


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt"])
def test_png_card_is_read_from_any_text_chunk_kind(kind):
    """tEXt, zTXt and iTXt chunks named chara all carry a card."""
    got = import_file(png({"chara": b64(v2(name="Zed"))}, kind=kind), "z.png")
    assert got.persona.name == "Zed"


def test_png_avatar_is_the_image_without_the_card():
    """The avatar is the card image's pixels re-encoded as PNG, with no card chunks left."""
    source = png({"chara": b64(v2(name="Pix"))}, size=(20, 30))
    got = import_file(source, "pix.png")
    avatar = Image.open(io.BytesIO(got.avatar))
    assert avatar.text == {}
    assert list(avatar.getdata()) == list(Image.open(io.BytesIO(source)).getdata())


def test_oversized_card_image_is_refused(monkeypatch):
    """A card image with more pixels than MAX_PIXELS is refused before decoding."""
    monkeypatch.setattr(card_files, "MAX_PIXELS", 100)
    with pytest.raises(PersonaError, match="pixels"):
        load("v3_in_chara.png")


# -- mapping -------------------------------------------------------------------------------


def test_card_imported_as_user_describes_the_person():
    """as_role='user' puts description, personality and scenario into about, no assistant role."""
    got = load("v2_book_untrusted.json", as_role="user")
    p = got.persona
    assert (got.mapped_to, p.imported_from["mapped_to"]) == ("user", "user")
    assert p.about.startswith("Orrin keeps the records of the drowned library of Vell.")
    assert "Personality: Pedantic" in p.about
    assert p.assistant_role == ""
    assert p.summary == "Orrin keeps the records of the drowned library of Vell."


def test_remap_switches_sides_and_back():
    """remap re-derives the mapping from the kept card, and switching back restores it."""
    assistant = load("v2_book_untrusted.json").persona
    user = remap(assistant, "user")
    assert user.model_dump() == load("v2_book_untrusted.json", as_role="user").persona.model_dump()
    assert remap(user, "assistant").model_dump() == assistant.model_dump()


def test_remap_moves_personachat_sentences_and_keeps_added_facts():
    """PersonaChat facts are the user's: mapped to the assistant they leave the seed facts."""
    user = load("personachat.txt").persona
    user = parse_persona({**user.model_dump(), "seed": {"facts": [*user.seed.facts, "Extra."]}})
    assistant = remap(user, "assistant")
    assert assistant.seed.facts == ["Extra."]
    assert "I work as a night nurse." in assistant.assistant_role
    assert remap(assistant, "user").seed.facts == user.seed.facts


def test_persona_yaml_from_a_card_can_be_imported_to_the_other_side():
    """A saved persona that came from a card keeps its card, so as_role remaps it on import."""
    persona = load("v1.json").persona
    got = import_file(export(persona, "yaml"), "mira.yaml", as_role="user")
    assert (got.format, got.mapped_to) == ("yaml", "user")
    assert got.persona.model_dump() == remap(persona, "user").model_dump()


def test_remap_keeps_the_library_file_id():
    """A remapped persona still saves over the same library file."""
    persona = load("v1.json").persona
    persona.set_id("mira-file")
    assert remap(persona, "user").id == "mira-file"


def test_remap_needs_kept_card_data():
    """A persona not imported from a card cannot be remapped."""
    with pytest.raises(PersonaError, match="not imported from a card"):
        remap(load("persona.yaml").persona, "assistant")


def test_an_unknown_role_is_refused():
    """Only assistant or user: another role is refused on import and on remap."""
    with pytest.raises(PersonaError, match="to_role"):
        remap(load("v1.json").persona, "narrator")
    with pytest.raises(PersonaError, match="as_role"):
        load("v1.json", as_role="narrator")


# -- export and round trips ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "card-v2", "card-v3", "card-png"])
@pytest.mark.parametrize("name", GOOD)
def test_round_trip_keeps_every_field_and_unknown_card_data(name, fmt):
    """import(export(p)) keeps every PersonaLab field, the mapping and the card's other fields."""
    first = load(name)
    again = import_file(export(first.persona, fmt), f"out.{SUFFIX[fmt]}")
    assert fields(again.persona) == fields(first.persona)
    assert again.mapped_to == first.mapped_to
    if fmt == "yaml":
        assert again.persona.model_dump() == first.persona.model_dump()
    for key, value in (getattr(first.persona, "card", None) or {}).items():
        if key not in card_files.PYGMALION:  # V2 names replace Pygmalion's on export
            assert again.persona.card[key] == value


@pytest.mark.parametrize("fmt", ["card-v2", "card-v3"])
def test_shipped_personas_round_trip_through_cards(fmt):
    """Every persona in personas/*.yaml comes back exactly from a Card V2 and V3 export."""
    personas, broken = PersonaLibrary(ROOT / "personas").load()
    assert personas and not broken
    for persona in personas:
        again = import_file(export(persona, fmt), f"{persona.id}.json")
        assert fields(again.persona) == fields(persona), persona.name
        assert (again.format, again.mapped_to) == (fmt, "user")


def test_exported_cards_have_the_v2_and_v3_shape():
    """Exports carry spec, spec_version and every required V2 field; V3 adds its greetings."""
    persona = load("persona.yaml").persona
    v2_card, v3_card = card_json(persona, "card-v2"), card_json(persona, "card-v3")
    assert (v2_card["spec"], v2_card["spec_version"]) == ("chara_card_v2", "2.0")
    assert (v3_card["spec"], v3_card["spec_version"]) == ("chara_card_v3", "3.0")
    for key, default in cards.V2_DEFAULTS.items():
        assert isinstance(v2_card["data"][key], type(default)), key
    assert v3_card["data"]["group_only_greetings"] == []


def test_person_card_carries_profile_lorebook_and_personalab_fields():
    """A PersonaLab persona exports its profile as text, facts as lorebook, the rest exactly."""
    data = json.loads(export(load("persona.yaml").persona, "card-v2"))["data"]
    assert data["description"].startswith("Kenji, 68, spent forty years designing bridges")
    assert "Interests: Watercolour landscapes; Bridge history" in data["description"]
    assert "PersonaLab" in data["creator_notes"]
    assert [e["content"] for e in data["character_book"]["entries"]] == [
        "Kenji's granddaughter Yui is nine."
    ]
    own = data["extensions"]["personalab"]["persona"]
    assert own["constraints"][0] == {"text": "He cannot climb stairs after knee surgery.",
                                     "forbid": ["stairs"]}  # fmt: skip
    assert own["seed"]["turns"][0]["days_ago"] == 3


def test_card_edited_after_export_keeps_the_edit():
    """If the card text changed after export, the card's text wins and the rest is restored."""
    card = json.loads(export(load("persona.yaml").persona, "card-v2"))
    card["data"]["description"] = "Kenji now sculpts in bronze."
    got = import_file(json.dumps(card).encode("utf-8"), "kenji.json")
    assert got.persona.about == "Kenji now sculpts in bronze."
    assert got.persona.constraints[0].forbid == ["stairs"]
    assert got.persona.seed.turns[0].text.startswith("I finished my first painting")
    assert any("edited" in note for note in got.notes)


def test_card_png_export_has_both_chunks_and_an_image():
    """card-png writes chara (V2) and ccv3 (V3) chunks on a 400x600 placeholder or the avatar."""
    persona = load("persona.yaml").persona
    placeholder = Image.open(io.BytesIO(export(persona, "card-png")))
    assert placeholder.size == (400, 600)
    specs = {k: json.loads(base64.b64decode(v))["spec"] for k, v in placeholder.text.items()}
    assert specs == {"chara": "chara_card_v2", "ccv3": "chara_card_v3"}
    jpeg = io.BytesIO()
    Image.new("RGB", (50, 70), (200, 30, 30)).save(jpeg, format="JPEG")
    out = export(persona, "card-png", avatar=jpeg.getvalue())
    assert Image.open(io.BytesIO(out)).size == (50, 70)
    assert import_file(out, "k.png").persona.name == "Kenji Watanabe"


def test_export_refuses_bad_avatar_and_unknown_format():
    """An unreadable avatar or an unknown format is a PersonaError."""
    persona = load("v1.json").persona
    with pytest.raises(PersonaError, match="avatar"):
        export(persona, "card-png", avatar=b"not an image")
    with pytest.raises(PersonaError, match="unknown export format"):
        export(persona, "card-v9")


# -- unicode and long text -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Zoë 🐉 Dragon-Heart", "محمد الفاتح", "שָׁלוֹם עֲלֵיכֶם", "李小龍", "Ἀθηνᾶ", "👩🏽‍🚀"]
)
def test_non_latin_emoji_and_rtl_names_survive(name):
    """Names and text in any script, emoji and right-to-left included, come back unchanged."""
    card = v2(name=name, description=f"{name} — مرحبا بالعالم ‏שלום‏ 🌍", tags=["تجربة"])
    first = import_file(json.dumps(card, ensure_ascii=False).encode("utf-8"), "n.json")
    assert first.persona.name == name
    for fmt in SUFFIX:
        again = import_file(export(first.persona, fmt), f"n.{SUFFIX[fmt]}")
        assert fields(again.persona) == fields(first.persona)
    assert name.encode("utf-8") in export(first.persona, "card-v2")  # ensure_ascii=False


def test_long_description_imports_without_loss():
    """A description of thousands of characters is kept whole, in the persona and on export."""
    text = ("Lorem ipsum, ünïcödé and 漢字 text. " * 450).strip()
    got = import_file(json.dumps(v2(description=text)).encode("utf-8"), "long.json")
    assert got.persona.assistant_role == text and len(text) > 15_000
    assert json.loads(export(got.persona, "card-v3"))["data"]["description"] == text


def test_over_long_description_is_clipped_but_the_card_keeps_it():
    """Past the persona's 20,000 characters the text is clipped with a note; the card keeps all."""
    text = "x" * 25_000
    got = import_file(json.dumps(v2(description=text)).encode("utf-8"), "huge.json")
    assert len(got.persona.assistant_role) == 20_000
    assert any("cut to 20,000" in note for note in got.notes)
    assert json.loads(export(got.persona, "card-v2"))["data"]["description"] == text


def test_lorebook_facts_are_limited():
    """At most 100 lorebook entries become facts, each at most 2,000 characters."""
    entries = [{"keys": [], "content": f"Fact {i}."} for i in range(120)]
    entries[0]["content"] = "y" * 3000
    got = import_file(json.dumps(v2(character_book={"entries": entries})).encode(), "b.json")
    assert len(got.persona.seed.facts) == 100
    assert len(got.persona.seed.facts[0]) == 2000
    assert got.persona.seed.facts[1] == "Fact 1."
    assert len(got.notes) >= 2


def test_utf8_with_bom_is_read():
    """UTF-8 text with a byte-order mark imports like plain UTF-8."""
    data = b"\xef\xbb\xbf" + (FIXTURES / "v1.json").read_bytes()
    assert import_file(data, "bom.json").persona.name == "Captain Mira Holt"


# -- hostile and broken input --------------------------------------------------------------

BAD = {
    "malformed.json": "not valid JSON",
    "list.json": "list",
    "string.json": "holds text",
    "wrong_tags.json": "'tags' must be a list of text",
    "wrong_description.json": "'description' must be text",
    "latin1.txt": "not UTF-8",
    "unknown_spec.json": "unsupported card spec",
    "data_not_object.json": "'data' object",
    "broken.yaml": "not valid YAML",
    "deep_200.json": "nested too deeply",
    "deep_3000.json": "nested too deeply",
    "no_card.png": "no character card",
    "truncated.png": "truncated",
    "garbage_chara.png": "not base64",
    "base64_not_json.png": "not valid JSON",
    "photo.jpg": "JPEG",
}


def test_bad_fixture_corpus_is_complete():
    """Every file in the bad corpus has an expected error below."""
    assert sorted(p.name for p in (FIXTURES / "bad").iterdir()) == sorted(BAD)


@pytest.mark.parametrize(("name", "message"), BAD.items())
def test_bad_files_raise_clear_errors(name, message):
    """Each broken file raises a PersonaError that says what is wrong."""
    with pytest.raises(PersonaError, match=message):
        import_file((FIXTURES / "bad" / name).read_bytes(), name)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": 3}, "'name' must be text"),
        ({"personality": {"a": 1}}, "'personality' must be text"),
        ({"tags": [1, 2]}, "'tags' must be a list of text"),
        ({"character_book": "lore"}, "'character_book' must be an object"),
        ({"character_book": {"entries": 5}}, "'entries' must be a list"),
        ({"character_book": {"entries": [{"content": 5}]}}, "entry 1"),
        ({"extensions": []}, "'extensions' must be an object"),
    ],
)
def test_card_fields_of_the_wrong_type_are_clear_errors(data, message):
    """Card fields of the wrong JSON type raise a PersonaError naming the field."""
    with pytest.raises(PersonaError, match=message):
        import_file(json.dumps(v2(**data)).encode(), "bad.json")


def test_oversized_input_is_refused_from_its_size_alone():
    """A valid card one byte over the limit is refused by its size: it is never parsed."""
    card = json.dumps(v2(name="Big")).encode()
    assert import_file(card, "ok.json").persona.name == "Big"  # the same card, small, imports
    padded = card + b" " * (MAX_IMPORT_BYTES + 1 - len(card))
    with pytest.raises(PersonaError, match="up to 10 MiB"):
        import_file(padded, "big.json")
    with pytest.raises(PersonaError, match="up to 10 MiB"):
        import_file(b" " * (MAX_IMPORT_BYTES + 1), "big.txt")


def test_untrusted_strings_stay_inert_data(monkeypatch):
    """Scripts, regexes and URLs in extensions are kept byte for byte and never fetched."""

    def no_network(*args, **kwargs):
        raise AssertionError("card import tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    original = fixture_json("v2_book_untrusted.json")["data"]["extensions"]
    first = load("v2_book_untrusted.json")
    assert first.persona.card["extensions"] == original
    for fmt in ("card-v2", "card-v3", "card-png", "yaml"):
        again = import_file(export(first.persona, fmt), f"u.{SUFFIX[fmt]}")
        assert again.persona.card["extensions"] == original
    exported = json.loads(export(first.persona, "card-v2"))["data"]["extensions"]
    assert {k: v for k, v in exported.items() if k != "personalab"} == original
    assert exported["script"].encode() == original["script"].encode()


def test_card_modules_never_evaluate_fetch_or_write():
    """The card modules import nothing that reaches the network, files or processes, and
    call no eval/exec/open; regexes are only ever compiled from the code's own literals."""
    allowed = {"__future__", "base64", "binascii", "copy", "dataclasses", "hashlib", "io",
               "json", "re", "yaml", "PIL", "personalab"}  # fmt: skip
    for module in (cards, card_files):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= allowed
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in allowed
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "open", "__import__"}
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = getattr(node.func.value, "id", "")
                if owner == "re":
                    assert isinstance(node.args[0], ast.Constant), ast.unparse(node)
                if owner == "yaml":
                    assert node.func.attr == "safe_load", ast.unparse(node)


def test_import_and_export_write_no_file(isolated_env):
    """Importing a card and exporting it in every format leave the disk as it was."""
    before = sorted(p.relative_to(isolated_env) for p in isolated_env.rglob("*"))
    card = v2(name="../../etc/passwd", description="Sneaky.")
    got = import_file(json.dumps(card).encode(), "../../etc/passwd")
    for fmt in SUFFIX:
        export(got.persona, fmt)
    assert sorted(p.relative_to(isolated_env) for p in isolated_env.rglob("*")) == before


def test_a_path_like_card_name_is_just_a_name():
    """A card named ../../etc/passwd imports as a persona of that name."""
    card = v2(name="../../etc/passwd", description="Sneaky.")
    assert import_file(json.dumps(card).encode(), "x.json").persona.name == "../../etc/passwd"


def test_junk_personalab_extension_is_ignored_with_a_note():
    """A card whose extensions.personalab is not a PersonaLab export imports as a plain card."""
    card = v2(description="Plain.", extensions={"personalab": "junk", "other": 1})
    got = import_file(json.dumps(card).encode(), "j.json")
    assert got.persona.assistant_role == "Plain."
    assert got.persona.card["extensions"] == {"other": 1}
    assert any("extensions.personalab" in note for note in got.notes)


# -- fuzzing -------------------------------------------------------------------------------

JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=20,
)
CARD_KEYS = ["name", "description", "personality", "scenario", "first_mes", "mes_example",
             "creator_notes", "system_prompt", "tags", "extensions", "character_book",
             "alternate_greetings", "nickname", "char_name", "char_persona", "world_scenario",
             "persona_sentences", "about", "interests", "constraints", "seed"]  # fmt: skip
BOOKS = st.fixed_dictionaries(
    {
        "entries": st.lists(
            st.fixed_dictionaries(
                {"content": st.text(max_size=50)},
                optional={"enabled": st.booleans(), "keys": JSON_VALUES},
            ),
            max_size=4,
        )
    }
)
CARD_VALUES = st.one_of(st.text(max_size=80), st.lists(st.text(max_size=15), max_size=4), BOOKS,
                        JSON_VALUES)  # fmt: skip
TEXT = st.text(max_size=150)
EXTENSIONS = st.dictionaries(st.sampled_from(["personalab", "depth_prompt"]) | st.text(max_size=9),
                             JSON_VALUES, max_size=3)  # fmt: skip
WELL_TYPED = st.fixed_dictionaries({}, optional={
    "name": TEXT, "description": TEXT, "personality": TEXT, "scenario": TEXT, "first_mes": TEXT,
    "creator_notes": TEXT, "system_prompt": TEXT, "char_name": TEXT, "char_persona": TEXT,
    "tags": TEXT | st.lists(st.text(max_size=50), max_size=35), "character_book": BOOKS,
    "extensions": EXTENSIONS, "alternate_greetings": st.lists(TEXT, max_size=2),
})  # fmt: skip
CARDS = st.tuples(
    st.sampled_from([None, "chara_card_v2", "chara_card_v3"]),
    WELL_TYPED | st.dictionaries(st.sampled_from(CARD_KEYS), CARD_VALUES, max_size=8),
)


def card_obj(card: tuple[str | None, dict]) -> dict:
    spec, data = card
    return {"spec": spec, "spec_version": "2.0", "data": data} if spec else data


@FUZZ
@given(data=st.binary(max_size=3000), name=st.sampled_from(["f.json", "f.yaml", "f.txt", "f"]))
def test_fuzz_arbitrary_bytes_import_or_raise_persona_error(data, name):
    """Any bytes either import or raise PersonaError, never another exception."""
    import_or_error(data, name)


PREFIXES = st.sampled_from(["", "your persona: ", "partner's persona: ", "name: ", "I am ", "{"])


@FUZZ
@given(prefix=PREFIXES, text=st.text(max_size=300), name=st.sampled_from(["f.yaml", "f.txt"]))
def test_fuzz_arbitrary_text_imports_or_raises_persona_error(prefix, text, name):
    """Any UTF-8 text (PersonaChat-, YAML- or prose-like) imports or raises PersonaError."""
    import_or_error((prefix + text).encode("utf-8"), name)


@FUZZ
@given(value=JSON_VALUES)
def test_fuzz_arbitrary_json_imports_or_raises_persona_error(value):
    """Any JSON value either imports or raises PersonaError, never another exception."""
    import_or_error(json.dumps(value, ensure_ascii=False).encode("utf-8"), "f.json")


@FUZZ
@given(card=CARDS)
def test_fuzz_card_like_dicts_import_and_round_trip(card):
    """Card-like dicts import or raise PersonaError; what imports survives a V3 round trip."""
    got = import_or_error(json.dumps(card_obj(card), ensure_ascii=False).encode(), "c.json")
    if got is not None and got.format != "yaml":
        again = import_file(export(got.persona, "card-v3"), "c2.json")
        assert fields(again.persona) == fields(got.persona)
        other = remap(got.persona, "user" if got.mapped_to == "assistant" else "assistant")
        assert fields(import_file(export(other, "card-v2"), "c3.json").persona) == fields(other)


@FUZZ
@given(
    text=st.text(max_size=200) | JSON_VALUES.map(b64) | CARDS.map(lambda c: b64(card_obj(c))),
    key=st.sampled_from(["chara", "ccv3"]),
)
def test_fuzz_png_chunk_text_imports_or_raises_persona_error(text, key):
    """Whatever text a card chunk holds, import succeeds or raises PersonaError."""
    import_or_error(png({key: text}, size=(4, 4)), "f.png")


VALID_PNG = png({"chara": b64(v2(name="Fuzz", description="d"))}, size=(8, 8))
FLIPS = st.lists(st.tuples(st.integers(0, len(VALID_PNG) - 1), st.integers(0, 255)), max_size=4)


@FUZZ
@given(cut=st.integers(0, len(VALID_PNG)), flips=FLIPS)
def test_fuzz_damaged_png_imports_or_raises_persona_error(cut, flips):
    """A truncated or bit-flipped card PNG imports or raises PersonaError, nothing else."""
    data = bytearray(VALID_PNG)
    for at, value in flips:
        data[at] = value
    import_or_error(bytes(data[:cut]), "f.png")
