"""The Persona: its fields with validation, the checks it implies, and its YAML form."""

from __future__ import annotations

import re
from typing import Literal

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

from personalab.errors import PersonaError
from personalab.replies.checks import Check
from personalab.text.orders import orders_in, without_orders
from personalab.text.slug import slugify

LIST_FIELDS = ("interests", "preferences", "goals", "constraints")
TEXT_FIELDS = ("summary", "about", "style", "assistant_role")
MAX_ITEM_CHARS = 2000
MAX_TEXT_CHARS = 20_000  # long card descriptions import whole; the prompt takes what fits
MAX_FILE_BYTES = 1024 * 1024


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


class SeedTurn(BaseModel):
    """A turn of the persona's history, said some days before the demo starts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_ITEM_CHARS)
    role: Literal["user", "assistant"] = "user"
    days_ago: float = Field(default=1.0, ge=0, le=3650)


class Seed(BaseModel):
    """What this person said before: facts stored as they are, and earlier turns."""

    model_config = ConfigDict(extra="forbid")

    facts: list[str] = Field(default_factory=list, max_length=100)
    turns: list[SeedTurn] = Field(default_factory=list, max_length=500)

    @property
    def size(self) -> int:
        return len(self.facts) + len(self.turns)


class Probe(BaseModel):
    """A question whose answer should draw on something the persona's seed holds."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    question: str = Field(min_length=1, max_length=MAX_ITEM_CHARS)
    recalls: str = Field(default="", max_length=MAX_ITEM_CHARS)  # words of the seed memory


class Persona(BaseModel):
    """Who the assistant talks to; fields it does not know are kept, so files round-trip."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    summary: str = Field(default="", max_length=500)
    about: str = Field(default="", max_length=MAX_TEXT_CHARS)
    interests: list[str] = Field(default_factory=list, max_length=50)
    preferences: list[str] = Field(default_factory=list, max_length=50)
    goals: list[str] = Field(default_factory=list, max_length=50)
    constraints: list[Constraint] = Field(default_factory=list, max_length=50)
    style: str = Field(default="", max_length=MAX_TEXT_CHARS)
    assistant_role: str = Field(default="", max_length=MAX_TEXT_CHARS)
    tags: list[str] = Field(default_factory=list, max_length=30)
    avatar: str = Field(default="", max_length=200)  # an image file beside the persona's YAML
    seed: Seed = Field(default_factory=Seed)
    probes: list[Probe] = Field(default_factory=list, max_length=50)
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
    def _constraints(cls, value: object) -> list:
        """A constraint is its text, or a mapping with its text and checks."""
        value = cls._as_list(value)  # this validator runs before the shared one
        if not isinstance(value, list):
            raise ValueError("must be a list of constraints")
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

    @field_validator(*TEXT_FIELDS, "avatar", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(t).strip()[:40] for t in value if str(t).strip()]
        return value

    @property
    def id(self) -> str:
        """The library file's stem (stable across renames), else a slug of the name."""
        return self._file_id or slugify(self.name)

    @property
    def file_id(self) -> str:
        """The library file's stem this persona was read from or saved to ("" if none)."""
        return self._file_id

    def set_id(self, file_id: str) -> Persona:
        """Tie the persona to a library file (and so to that file's memories); returns it."""
        self._file_id = file_id
        return self

    def without_orders(self) -> tuple[Persona, list[str]]:
        """This persona, as the user, with no text that gives the assistant orders (a card or
        file from elsewhere may hide some), and what was left out (each cut to 80 characters)."""
        data, dropped = self.model_dump(), []
        for key in ("summary", "about", "style"):
            data[key], cut = without_orders(data[key] or "")
            dropped += cut
        for owner, key in [(data, "interests"), (data, "preferences"), (data, "goals"),
                           (data["seed"], "facts")]:  # fmt: skip
            dropped += [i for i in owner[key] if orders_in(i)]
            owner[key] = [i for i in owner[key] if not orders_in(i)]
        said = [c for c in self.constraint_texts if orders_in(c)]
        dropped += said
        data["constraints"] = [
            c
            for c, t in zip(data["constraints"], self.constraint_texts, strict=True)
            if t not in said
        ]
        dropped = [d[:80] for d in dropped]
        return (Persona.model_validate(data) if dropped else self), dropped

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
        data = {
            k: v
            for k, v in self.model_dump().items()
            if v not in ("", [], None, {"facts": [], "turns": []})
        }
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def validation_messages(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, readable message) per problem, e.g. ('name', 'must not be empty')."""
    found = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "persona"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "string_too_short" and err.get("ctx", {}).get("min_length") == 1:
            msg = "must not be empty"
        found.append((where, msg))
    return found


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per problem, e.g. 'name: must not be empty'."""
    return "; ".join(f"{where}: {msg}" for where, msg in validation_messages(exc))


def parse_persona(data: object) -> Persona:
    """Validate a mapping into a Persona, or raise PersonaError with a readable message."""
    if not isinstance(data, dict):
        raise PersonaError("a persona must be a mapping of fields (name, about, interests, ...)")
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        raise PersonaError(describe_validation_error(exc)) from exc
