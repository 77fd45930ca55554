"""Character Card V1/V2/V3 (JSON, PNG), PersonaChat and plain-text persona import and export."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

import yaml

from personalab.errors import PersonaError
from personalab.personas.card_io import (
    MAX_NAME_CHARS,
    PYGMALION,
    name_from_file,
    read_card_file,
    type_name,
    write_png_card,
)
from personalab.personas.model import MAX_ITEM_CHARS, MAX_TEXT_CHARS, Persona, parse_persona
from personalab.text.redaction import redact

MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_FACTS = 100
ROLES = ("assistant", "user")


@dataclass(frozen=True)
class ExportFormat:
    """A format a persona exports to: its name, what people call it, its file type."""

    name: str
    label: str
    extension: str
    mime: str


EXPORTS = {
    f.name: f
    for f in (
        ExportFormat("yaml", "YAML", "yaml", "application/yaml"),
        ExportFormat("card-v2", "Card V2", "json", "application/json"),
        ExportFormat("card-v3", "Card V3", "json", "application/json"),
        ExportFormat("card-png", "Card PNG", "png", "image/png"),
    )
}
EXPORT_FORMATS = tuple(EXPORTS)
SOURCES = {  # formats kept as card data: the default mapping, and how `about` names the source
    "card-v1": ("assistant", "a Character Card V1"),
    "card-v2": ("assistant", "a Character Card V2"),
    "card-v3": ("assistant", "a Character Card V3"),
    "pygmalion": ("assistant", "a Pygmalion/TavernAI card"),
    "personachat": ("user", "PersonaChat persona sentences"),
    "text": ("user", "a plain-text description"),
}
TEXT_KEYS = ("name", "description", "personality", "scenario", "first_mes", "mes_example",
             "creator_notes", "system_prompt", "post_history_instructions", "nickname")  # fmt: skip
UNUSED_KEYS = ("first_mes", "mes_example", "alternate_greetings", "system_prompt",
               "post_history_instructions")  # fmt: skip
V2_DEFAULTS = {"name": "", "description": "", "personality": "", "scenario": "", "first_mes": "",
               "mes_example": "", "creator_notes": "", "system_prompt": "",
               "post_history_instructions": "", "alternate_greetings": [], "tags": [],
               "creator": "", "character_version": "", "extensions": {}}  # fmt: skip
ENTRY = {"keys": [], "extensions": {}, "enabled": True, "constant": True}  # an always-on entry
VISIBLE = ("name", "description", "personality", "scenario", "tags", "character_book")
_MACRO = re.compile(r"\{\{(char|user)\}\}|<(BOT|USER)>", re.I)


@dataclass(frozen=True)
class ImportedPersona:
    """An imported persona, its card image (PNG bytes) if it came from a PNG, and what was done."""

    persona: Persona
    avatar: bytes | None
    format: str  # card-v1 | card-v2 | card-v3 | pygmalion | personachat | text | yaml
    mapped_to: str  # assistant: the assistant plays the card; user: it describes the person
    notes: list[str] = field(default_factory=list)


def import_file(data: bytes, filename: str, as_role: str | None = None) -> ImportedPersona:
    """Import a card (JSON or PNG), PersonaChat block, description or persona YAML, or raise."""
    if as_role is not None and as_role not in ROLES:
        raise PersonaError(f"as_role must be 'assistant' or 'user', not {as_role!r}")
    if len(data) > MAX_IMPORT_BYTES:
        raise PersonaError(
            f"the file is {len(data) / 2**20:.1f} MiB; PersonaLab imports files up to "
            f"{MAX_IMPORT_BYTES // 2**20} MiB"
        )
    notes: list[str] = []
    kind, payload, avatar = read_card_file(bytes(data), filename or "", notes)
    if kind == "yaml":
        persona, role = _from_mapping(payload, as_role, notes)
    else:
        persona, role = _from_card(payload, kind, filename or "", as_role, notes)
    persona = _scrubbed(persona)
    if role == "user":  # whoever wrote it, it may not give the assistant orders
        persona, dropped = persona.without_orders()
        if said := "; ".join(f'"{d}"' for d in dropped):
            notes.append(f"left out {len(dropped)} passage(s) giving the assistant orders: {said}")
    return ImportedPersona(persona, avatar, kind, role, notes)


def _scrubbed(persona: Persona) -> Persona:
    """The persona with every secret in its text (a key pasted into a description, a seed
    memory, the kept card data) redacted, as memories are."""

    def scrub(value):
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    return Persona.model_validate(scrub(persona.model_dump()))


def remap(persona: Persona, to_role: str) -> Persona:
    """The imported persona mapped to the other side, re-derived from its kept card data."""
    if to_role not in ROLES:
        raise PersonaError(f"to_role must be 'assistant' or 'user', not {to_role!r}")
    extra = persona.model_extra or {}
    info, card = extra.get("imported_from"), extra.get("card")
    fmt = info.get("format") if isinstance(info, dict) else None
    if not (isinstance(fmt, str) and fmt in SOURCES and isinstance(card, dict)):
        raise PersonaError(
            f"{persona.name!r} was not imported from a card, PersonaChat block or description, "
            "so there is no card to map the other way"
        )
    fields = _fields(card, fmt)
    old = info.get("mapped_to")
    old_facts = _derive(fields, old, fmt, persona.name, [])["seed"]["facts"] if old in ROLES else []
    new = _derive(fields, to_role, fmt, persona.name, [])
    facts = new["seed"]["facts"]
    kept = [f for f in persona.seed.facts if f not in old_facts and f not in facts]
    data = persona.model_dump()
    turns = data["seed"]["turns"]
    data.update(new, imported_from={**info, "mapped_to": to_role})
    data["seed"] = {"facts": (facts + kept)[:MAX_FACTS], "turns": turns}
    result = _validate(data)
    result.set_id(persona.file_id)  # the same library file
    return result


def export(persona: Persona, fmt: str, avatar: bytes | None = None) -> bytes:
    """The persona as YAML, Card V2/V3 JSON, or a Card PNG (of the avatar, else a placeholder)."""
    try:
        if fmt == "yaml":
            return persona.to_yaml().encode("utf-8")
        if fmt in ("card-v2", "card-v3"):
            return _dumps(card_json(persona, fmt)).encode("utf-8")
        if fmt == "card-png":
            v2, v3 = (_dumps(card_json(persona, f)) for f in ("card-v2", "card-v3"))
            return write_png_card(v2, v3, avatar, persona.name)
    except (TypeError, ValueError, yaml.YAMLError) as exc:  # odd values in hand-written extras
        raise PersonaError(f"cannot export {persona.name!r} as {fmt}: {exc}") from exc
    raise PersonaError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")


def card_json(persona: Persona, fmt: str = "card-v2") -> dict:
    """The Character Card V2 or V3 object that `export` writes for a persona."""
    data = _card_data(persona)
    if fmt == "card-v3":
        data.setdefault("group_only_greetings", [])
        return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}


# -- mapping ---------------------------------------------------------------------------------


def _from_mapping(obj: dict, as_role: str | None, notes: list[str]) -> tuple[Persona, str]:
    """A PersonaLab persona mapping, as it is (remapped only if it came from a card)."""
    persona = _validate(obj)
    info = (persona.model_extra or {}).get("imported_from")
    role = info.get("mapped_to") if isinstance(info, dict) else None
    role = role if role in ROLES else "user"
    if as_role and as_role != role:
        if isinstance(info, dict) and isinstance((persona.model_extra or {}).get("card"), dict):
            return remap(persona, as_role), as_role
        notes.append(f"as_role={as_role!r} was ignored: a PersonaLab persona is the user")
    return persona, role


def _from_card(data: dict, fmt: str, filename: str, as_role: str | None, notes: list[str]):
    """A persona from card data (kept whole as `card`), mapped to the assistant or the user."""
    ext = data.get("extensions")
    if ext is not None and not isinstance(ext, dict):
        raise PersonaError(f"card field 'extensions' must be an object, not {type_name(ext)}")
    own = None
    if isinstance(ext, dict) and "personalab" in ext:
        own = ext["personalab"]
        data = {**data, "extensions": {k: v for k, v in ext.items() if k != "personalab"}}
    fields = _fields(data, fmt)
    restored = _restore(own, data, fmt, notes) if own is not None else None
    if restored:
        persona, role = restored
    else:
        role = as_role or SOURCES[fmt][0]
        name = _clip(fields["name"], MAX_NAME_CHARS, "the name", notes)
        if not name:
            name = name_from_file(filename)
            notes.append(f"the card has no name, so it is named {name!r} after the file")
        unused = [key for key in UNUSED_KEYS if fields.get(key) or data.get(key)]
        if unused:
            notes.append(f"kept in the card data but not used in prompts: {', '.join(unused)}")
        mapped = {**_derive(fields, role, fmt, name, notes), "tags": _tags(fields, notes)}
        info = {"format": fmt, "mapped_to": role}
        persona = _validate({"name": name, **mapped, "card": data, "imported_from": info})
    if as_role and as_role != role:
        persona, role = remap(persona, as_role), as_role
    return persona, role


def _restore(own: object, data: dict, fmt: str, notes: list[str]):
    """The persona PersonaLab wrote into extensions.personalab, merged with any later edits."""
    if not isinstance(own, dict) or not isinstance(own.get("persona"), dict):
        notes.append("ignored extensions.personalab: it is not a PersonaLab export")
        return None
    role = own.get("mapped_to") if own.get("mapped_to") in ROLES else "user"
    source = own.get("source")  # the format the card data first came from, e.g. personachat
    fmt = source if isinstance(source, str) and source in SOURCES else fmt
    try:
        info = {"format": fmt, "mapped_to": role}
        persona = _validate({**own["persona"], "card": data, "imported_from": info})
    except PersonaError as exc:
        notes.append(f"ignored extensions.personalab: {exc}")
        return None
    written = _card_data(persona)
    if [written.get(k) or None for k in VISIBLE] == [data.get(k) or None for k in VISIBLE]:
        return persona, role
    notes.append(
        "the card was edited after PersonaLab exported it: name, text, tags and lorebook come "
        "from the card, the other PersonaLab fields from extensions.personalab"
    )
    fields = _fields(data, fmt)
    name = _clip(fields["name"], MAX_NAME_CHARS, "the name", notes) or persona.name
    derived = _derive(fields, role, fmt, name, notes)
    derived["seed"]["turns"] = persona.model_dump()["seed"]["turns"]
    merged = {**persona.model_dump(), "name": name, **derived, "tags": _tags(fields, notes)}
    return _validate(merged), role


def _fields(data: dict, fmt: str) -> dict:
    """The card's fields under V2 names, type-checked; the card itself is kept as it is."""
    if fmt == "pygmalion":
        data = {**data, **{new: data[old] for old, new in PYGMALION.items() if old in data}}
    out: dict = {}
    for key in TEXT_KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise PersonaError(f"card field {key!r} must be text, not {type_name(value)}")
        out[key] = value or ""
    for key in ("tags", "persona_sentences"):
        value = data.get(key) if key == "tags" or fmt == "personachat" else None
        if isinstance(value, str) and key == "tags":
            value = value.split(",")
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise PersonaError(f"card field {key!r} must be a list of text, not {type_name(value)}")
        out[key] = value or []
    out["book"] = _book_facts(data.get("character_book"))
    return out


def _book_facts(book: object) -> list[str]:
    """The contents of the lorebook's enabled entries, in order."""
    if book is None:
        return []
    if not isinstance(book, dict):
        raise PersonaError(f"card field 'character_book' must be an object, not {type_name(book)}")
    entries = book.get("entries")
    entries = list(entries.values()) if isinstance(entries, dict) else entries or []
    if not isinstance(entries, list):
        raise PersonaError(f"character_book 'entries' must be a list, not {type_name(entries)}")
    facts = []
    for number, entry in enumerate(entries, 1):
        content = entry.get("content") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(content, str | None):
            raise PersonaError(f"character_book entry {number} must be an object with text content")
        off = entry.get("enabled") is False or entry.get("disable") is True
        if content and content.strip() and not off:
            facts.append(content.strip())
    return facts


def _derive(fields: dict, role: str, fmt: str, name: str, notes: list[str]) -> dict:
    """The persona fields a card maps to on one side: who the assistant plays, or the user."""
    other = "the user" if role == "assistant" else "the assistant"
    extra = [k for k in ("personality", "scenario") if fields[k].strip()]
    parts = [fields["description"].strip()] + [f"{k.title()}: {fields[k].strip()}" for k in extra]
    text = "\n\n".join(p for p in parts if p)
    # {{char}}/{{user}} become plain words in one pass; nothing in a card is ever evaluated
    text = _MACRO.sub(lambda m: name if (m[1] or m[2]).lower() in ("char", "bot") else other, text)
    text = _clip(text, MAX_TEXT_CHARS, "the card text", notes)
    facts = ([] if role == "assistant" else fields["persona_sentences"]) + fields["book"]
    if len(facts) > MAX_FACTS:
        notes.append(f"kept the first {MAX_FACTS} of {len(facts)} lorebook entries as facts")
    facts = [_clip(f, MAX_ITEM_CHARS, "a lorebook entry", notes) for f in facts[:MAX_FACTS]]
    seed = {"facts": facts}
    if role == "assistant":
        label = SOURCES[fmt][1]
        about = (f"{name} is the character the assistant plays, imported from {label}. "
                 f"The user is the person talking to {name}.")  # fmt: skip
        return {"summary": f"The assistant plays {name}, from {label}", "about": about,
                "assistant_role": text, "seed": seed}  # fmt: skip
    first = re.split(r"(?<=[.!?。！？])\s", text.split("\n", 1)[0], maxsplit=1)[0]
    summary = first if len(first) <= 200 else ""
    return {"summary": summary, "about": text, "assistant_role": "", "seed": seed}


def _tags(fields: dict, notes: list[str]) -> list[str]:
    tags = [t.strip()[:40].strip() for t in fields["tags"] if t.strip()]
    if len(tags) > 30:
        notes.append(f"kept the first 30 of {len(tags)} tags")
    return tags[:30]


def _clip(text: str, limit: int, what: str, notes: list[str]) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    note = f"{what} was cut to {limit:,} characters (the whole text stays in the card data)"
    if note not in notes:
        notes.append(note)
    return text[:limit].rstrip()


def _validate(data: dict) -> Persona:
    try:
        return parse_persona(data)
    except PersonaError:
        raise
    except Exception as exc:  # a validator meeting a value of an unexpected type
        raise PersonaError(f"not a valid persona: {exc}") from exc


# -- writing ---------------------------------------------------------------------------------


def _card_data(persona: Persona) -> dict:
    """Card V2 fields: the kept card's where the persona left them as imported, else its own."""
    extra = persona.model_extra or {}
    info = extra.get("imported_from") if isinstance(extra.get("imported_from"), dict) else {}
    fmt, card = info.get("format"), extra.get("card")
    role = info.get("mapped_to") if info.get("mapped_to") in ROLES else "user"
    base, derived = {}, None
    if isinstance(fmt, str) and fmt in SOURCES and isinstance(card, dict):
        try:
            fields = _fields(card, fmt)
            derived = {**_derive(fields, role, fmt, persona.name, []), "tags": _tags(fields, [])}
            base = copy.deepcopy(card)
        except PersonaError:  # a hand-edited card that no longer reads: write the persona's own
            derived = None
        for old, new in PYGMALION.items() if fmt == "pygmalion" else ():
            if old in base:
                base[new] = base.pop(old)
    data = {**copy.deepcopy(V2_DEFAULTS), **base, "name": persona.name}
    text_field = "assistant_role" if role == "assistant" else "about"
    if not derived or derived[text_field] != getattr(persona, text_field):
        data.update(description=_profile(persona, role), personality="", scenario="")
    if not derived or derived["tags"] != persona.tags:
        data["tags"] = list(persona.tags)
    if not derived or derived["seed"]["facts"] != persona.seed.facts:
        data.pop("character_book", None)
        if persona.seed.facts:
            data["character_book"] = _book(persona.seed.facts, base.get("character_book"))
    if not base and role == "user":
        data["creator_notes"] = (
            f"Exported from PersonaLab: {persona.name} is the person an assistant talks to."
        )
    own = persona.model_dump(mode="json", exclude={"card", "imported_from"})
    extensions = data["extensions"] if isinstance(data.get("extensions"), dict) else {}
    source = fmt if isinstance(fmt, str) and fmt in SOURCES and base else None
    mine = {"version": 1, "mapped_to": role, "source": source, "persona": own}
    data["extensions"] = {**extensions, "personalab": mine}
    return data


def _profile(persona: Persona, role: str) -> str:
    """Card description: who the assistant plays, or the person's profile in plain lines."""
    if role == "assistant" and persona.assistant_role:
        return persona.assistant_role
    skip = ("Name", "About")
    lines = [f"{label}: {text}" for label, text in persona.facts() if label not in skip]
    return "\n".join(line for line in [persona.about or persona.summary, *lines] if line)


def _book(facts: list[str], old: object) -> dict:
    """A lorebook of always-on entries, one per fact (other book fields kept from `old`)."""
    book = {k: v for k, v in old.items() if k != "entries"} if isinstance(old, dict) else {}
    book.setdefault("extensions", {})
    book["entries"] = [{**copy.deepcopy(ENTRY), "content": f, "insertion_order": i, "id": i}
                       for i, f in enumerate(facts)]  # fmt: skip
    return book


def _dumps(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False, indent=2, default=str)
