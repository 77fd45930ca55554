"""Groups: named sets of 2-6 personas that one answer must serve, as YAML files beside them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from personalab.errors import PersonaError
from personalab.personas.library import PersonaLibrary, read_yaml, write_atomically
from personalab.personas.model import MAX_TEXT_CHARS, Persona, describe_validation_error
from personalab.text.slug import slugify

GROUPS_FOLDER = "groups"  # under the personas folder
Question = Annotated[str, Field(min_length=1, max_length=300)]


class Strategy(StrEnum):
    """How members' preferences are weighed (hard constraints are never weighed: all hold)."""

    AVERAGE = "average"
    LEAST_MISERY = "least_misery"
    MOST_PLEASURE = "most_pleasure"

    @property
    def instruction(self) -> str:
        return {
            "average": "Weigh every member's preferences equally.",
            "least_misery": "Avoid what any member would dislike: the least happy member "
            "counts most.",
            "most_pleasure": "Aim for what at least one member will love, as long as nobody's "
            "constraint is broken.",
        }[self.value]


class Group(BaseModel):
    """A group: its members (persona ids), a shared context and a preference strategy."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    members: list[str] = Field(min_length=2, max_length=6)
    context: str = Field(default="", max_length=MAX_TEXT_CHARS)
    strategy: Strategy = Strategy.LEAST_MISERY
    questions: list[Question] = Field(default_factory=list, max_length=6)  # for the stage
    members_learn: bool = False  # a member's own memory learns the facts they state here
    id: str = Field(default="", exclude=True)

    @field_validator("members")
    @classmethod
    def _distinct(cls, members: list[str]) -> list[str]:
        if len(set(members)) != len(members):
            raise ValueError("a member is listed twice")
        return members

    @property
    def scope(self) -> str:
        """Where the group's own conversation is stored (beside the personas' scopes)."""
        return f"group-{self.id}"


class GroupLibrary:
    """The personas/groups/*.yaml folder: list (naming broken files), get, save, delete, and
    resolve members against the persona library."""

    def __init__(self, personas_dir: Path):
        self.personas = PersonaLibrary(personas_dir)
        self.directory = Path(personas_dir) / GROUPS_FOLDER

    def load(self) -> tuple[list[Group], list[tuple[str, str]]]:
        """Every valid group sorted by name, and (file name, reason) for each broken file."""
        groups, broken = [], []
        for path in sorted(self.directory.glob("*.y*ml")) if self.directory.is_dir() else []:
            try:
                groups.append(self._read(path))
            except PersonaError as exc:
                broken.append((path.name, str(exc)))
        return sorted(groups, key=lambda g: g.name.lower()), broken

    def get(self, group_id: str) -> Group:
        groups, broken = self.load()
        for group in groups:
            if group_id in (group.id, group.name, slugify(group.name)):
                return group
        for name, reason in broken:
            if Path(name).stem == group_id:
                raise PersonaError(f"group file {name} cannot be used: {reason}")
        known = ", ".join(g.id for g in groups) or "none"
        raise PersonaError(f"no group {group_id!r} in {self.directory} (known: {known})")

    def members(
        self, group: Group, library: list[Persona] | None = None
    ) -> tuple[list[Persona], list[str]]:
        """The group's personas (from `library` when the caller has it loaded already), and
        the ids of members no longer in the library."""
        personas = {p.id: p for p in (self.personas.load()[0] if library is None else library)}
        found = [personas[m] for m in group.members if m in personas]
        return found, [m for m in group.members if m not in personas]

    def save(self, group: Group) -> Group:
        """Write the group (its id from its name when new); PersonaError if a member is unknown."""
        _, missing = self.members(group)
        if missing:
            raise PersonaError(f"no persona {', '.join(missing)} in {self.personas.directory}")
        new = not group.id
        group = group.model_copy(update={"id": group.id or slugify(group.name)})
        if new and (self.directory / f"{group.id}.yaml").exists():
            raise PersonaError(f"a group {group.id!r} exists already: choose another name")
        text = yaml.safe_dump(group.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        try:
            write_atomically(self.directory / f"{group.id}.yaml", text)
        except OSError as exc:
            raise PersonaError(f"cannot save the group: {exc.strerror or exc}") from exc
        return group

    def delete(self, group_id: str) -> None:
        group = self.get(group_id)
        (self.directory / f"{group.id}.yaml").unlink()

    @staticmethod
    def _read(path: Path) -> Group:
        return parse_group(read_yaml(path)).model_copy(update={"id": path.stem})


def parse_group(data: object) -> Group:
    """Validate a mapping into a Group, or raise PersonaError with a readable message."""
    if not isinstance(data, dict):
        raise PersonaError("a group is a mapping of fields (name, members, ...)")
    try:
        return Group.model_validate(data)
    except ValidationError as exc:
        raise PersonaError(describe_validation_error(exc)) from exc
