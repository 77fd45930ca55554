"""Persona model with validation, and the PersonaLibrary of personas/*.yaml files."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_serializer,
    field_validator,
)

from personalab.checks import Check
from personalab.errors import PersonaError

LIST_FIELDS = ("interests", "preferences", "goals", "constraints")
TEXT_FIELDS = ("summary", "about", "style", "assistant_role")
MAX_ITEM_CHARS = 300
MAX_FILE_BYTES = 64 * 1024


class Constraint(BaseModel):
    """A hard constraint in words, optionally with machine checks a reply must pass."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_ITEM_CHARS)
    forbid: list[str] = Field(default_factory=list, max_length=40)
    max_words: int = Field(default=0, ge=0)
    max_sentences: int = Field(default=0, ge=0)
    language: str = Field(default="", max_length=8)

    @property
    def checked(self) -> bool:
        return bool(self.forbid or self.max_words or self.max_sentences or self.language)

    def checks(self) -> list[Check]:
        """One Check per kind of rule this constraint carries."""
        kinds = [
            {"forbid": tuple(self.forbid)} if self.forbid else None,
            {"max_words": self.max_words} if self.max_words else None,
            {"max_sentences": self.max_sentences} if self.max_sentences else None,
            {"language": self.language} if self.language else None,
        ]
        return [Check(self.text, **k) for k in kinds if k]


class Persona(BaseModel):
    """Who the assistant talks to; fields it does not know are kept, so files round-trip."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    summary: str = Field(default="", max_length=200)
    about: str = Field(default="", max_length=1500)
    interests: list[str] = Field(default_factory=list, max_length=20)
    preferences: list[str] = Field(default_factory=list, max_length=20)
    goals: list[str] = Field(default_factory=list, max_length=20)
    constraints: list[Constraint] = Field(default_factory=list, max_length=20)
    style: str = Field(default="", max_length=500)
    assistant_role: str = Field(default="", max_length=500)
    _file_id: str = PrivateAttr(default="")

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _as_list(cls, value: object) -> object:
        """Accept one string, a comma/line separated string, or a list; drop empty items."""
        if value is None:
            return []
        if isinstance(value, str):
            value = re.split(r"[\n;]+|,(?![^()]*\))", value)
        if isinstance(value, list):
            return [
                item if isinstance(item, dict) else str(item).strip()
                for item in value
                if isinstance(item, dict) or str(item).strip()
            ]
        return value

    @field_validator("interests", "preferences", "goals")
    @classmethod
    def _short_items(cls, value: list[str]) -> list[str]:
        for item in value:
            if len(item) > MAX_ITEM_CHARS:
                raise ValueError(f"each item must be at most {MAX_ITEM_CHARS} characters")
        return value

    @field_validator("constraints", mode="before")
    @classmethod
    def _constraints(cls, value: list) -> list:
        """A constraint is its text, or a mapping with its text and checks."""
        items = []
        for item in value:
            if isinstance(item, str):
                if len(item) > MAX_ITEM_CHARS:
                    raise ValueError(f"each item must be at most {MAX_ITEM_CHARS} characters")
                item = {"text": item}
            items.append(item)
        return items

    @field_serializer("constraints")
    def _plain_constraints(self, value: list[Constraint]) -> list:
        """Constraints without checks are written back as plain text."""
        return [c.model_dump(exclude_defaults=True) if c.checked else c.text for c in value]

    @property
    def constraint_texts(self) -> list[str]:
        return [c.text for c in self.constraints]

    def checks(self) -> list[Check]:
        """The machine checks of the persona's constraints."""
        return [check for c in self.constraints for check in c.checks()]

    @field_validator(*TEXT_FIELDS, mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @property
    def id(self) -> str:
        """The library file's stem (stable across renames), else a slug of the name."""
        return self._file_id or slugify(self.name)

    def facts(self) -> list[tuple[str, str]]:
        """The non-empty profile fields as (label, text) pairs, in prompt order."""
        pairs = [("Name", self.name), ("About", self.about or self.summary)]
        for name in LIST_FIELDS:
            items = self.constraint_texts if name == "constraints" else getattr(self, name)
            if items:
                pairs.append((name.capitalize(), "; ".join(items)))
        if self.style:
            pairs.append(("Preferred style", self.style))
        return [(label, text) for label, text in pairs if text]

    def to_yaml(self) -> str:
        """YAML text of every field, unknown ones included; empty optional fields left out."""
        data = {k: v for k, v in self.model_dump().items() if v not in ("", [], None)}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def slugify(text: str) -> str:
    """A safe file name stem: lowercase ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return slug or "persona"


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per problem, e.g. 'name: must not be empty'."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "persona"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "string_too_short" and err.get("ctx", {}).get("min_length") == 1:
            msg = "must not be empty"
        lines.append(f"{where}: {msg}")
    return "; ".join(lines)


def parse_persona(data: object) -> Persona:
    """Validate a mapping into a Persona, or raise PersonaError with a readable message."""
    if not isinstance(data, dict):
        raise PersonaError("a persona must be a mapping of fields (name, about, interests, ...)")
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        raise PersonaError(describe_validation_error(exc)) from exc


@dataclass(frozen=True)
class BrokenPersonaFile:
    """A file in the library that could not be loaded, and why."""

    file_name: str
    reason: str


class PersonaLibrary:
    """The personas/*.yaml folder: load all (reporting broken files by name), get one, save one."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def load(self) -> tuple[list[Persona], list[BrokenPersonaFile]]:
        """Every valid persona sorted by name, and the files that could not be read."""
        personas: dict[str, Persona] = {}
        broken: list[BrokenPersonaFile] = []
        if not self.directory.is_dir():
            return [], []
        for path in sorted(self.directory.glob("*.y*ml")):
            try:
                persona = self._read(path)
            except PersonaError as exc:
                broken.append(BrokenPersonaFile(path.name, str(exc)))
                continue
            persona._file_id = path.stem
            personas[persona.id] = persona
        return sorted(personas.values(), key=lambda p: p.name.lower()), broken

    def get(self, persona_id: str) -> Persona:
        """The persona with this id (or name), or PersonaError listing what exists."""
        personas, _ = self.load()
        for persona in personas:
            if persona_id in (persona.id, persona.name, slugify(persona.name)):
                return persona
        known = ", ".join(p.id for p in personas) or "none"
        raise PersonaError(f"no persona {persona_id!r} in {self.directory} (known: {known})")

    def path_for(self, persona: Persona) -> Path:
        return self.directory / f"{persona.id}.yaml"

    def save(self, persona: Persona, overwrite: bool = False) -> Path:
        """Write persona to <id>.yaml; refuses to replace an existing persona unless asked."""
        path = self.path_for(persona)
        taken = {n for p in self.load()[0] for n in (p.id, slugify(p.name))}
        if not overwrite and (path.exists() or slugify(persona.name) in taken):
            raise PersonaError(f"a persona named {persona.name!r} already exists ({path.name})")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".yaml.tmp")
            tmp.write_text(persona.to_yaml(), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise PersonaError(f"cannot save {path}: {exc.strerror or exc}") from exc
        return path

    @staticmethod
    def _read(path: Path) -> Persona:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise PersonaError(f"file is larger than {MAX_FILE_BYTES // 1024} KiB")
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise PersonaError(f"cannot read file: {exc}") from exc
        except yaml.YAMLError as exc:
            raise PersonaError(f"not valid YAML: {str(exc).splitlines()[0]}") from exc
        return parse_persona(data)
