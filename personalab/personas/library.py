"""PersonaLibrary: the personas folder: load (broken files named), save, copy, delete, avatars."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from personalab.errors import PersonaError
from personalab.personas.model import MAX_FILE_BYTES, Persona, parse_persona
from personalab.text.slug import slugify

MAX_AVATAR_BYTES = 4 * 1024 * 1024


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
            persona.set_id(path.stem)
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

    def free_id(self, name: str) -> str:
        """A file stem for a new persona called name: its slug, numbered when taken."""
        base = slugify(name)
        taken = (
            {p.stem for p in self.directory.glob("*.y*ml")} if self.directory.is_dir() else set()
        )
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def add(self, persona: Persona, avatar: bytes | None = None) -> Persona:
        """Save an imported or copied persona under a free id, never over another one; a name
        that is taken gets a number, e.g. "Lena Vogel (2)"."""
        new = persona.model_copy(deep=True)
        new.set_id(self.free_id(persona.name))
        taken = {slugify(p.name) for p in self.load()[0]}
        n = 2
        while slugify(new.name) in taken:
            new.name = f"{persona.name[:110]} ({n})"
            n += 1
        if avatar:
            new.avatar = self.save_avatar(new.id, avatar)
        self.save(new)
        return new

    def duplicate(self, persona_id: str) -> Persona:
        original = self.get(persona_id)
        copy = original.model_copy(deep=True, update={"name": f"{original.name} (copy)"[:120]})
        return self.add(copy, self.avatar(original))

    def delete(self, persona_id: str) -> None:
        """Remove a persona's file and its avatar; its memories stay until forgotten."""
        persona = self.get(persona_id)
        try:
            self.path_for(persona).unlink(missing_ok=True)
            if persona.avatar:
                (self.directory / Path(persona.avatar).name).unlink(missing_ok=True)
        except OSError as exc:
            raise PersonaError(f"cannot delete {persona.id}: {exc.strerror or exc}") from exc

    def save_avatar(self, persona_id: str, image: bytes) -> str:
        """Store a PNG avatar beside the persona's file; returns its file name."""
        if len(image) > MAX_AVATAR_BYTES or not image.startswith(b"\x89PNG"):
            raise PersonaError("an avatar must be a PNG image of at most 4 MiB")
        name = f"{slugify(persona_id)}.png"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / name).write_bytes(image)
        except OSError as exc:
            raise PersonaError(f"cannot save the avatar: {exc.strerror or exc}") from exc
        return name

    def avatar(self, persona: Persona) -> bytes | None:
        """The persona's avatar image, if it has one that can be read."""
        if not persona.avatar:
            return None
        path = self.directory / Path(persona.avatar).name  # never outside the folder
        try:
            return path.read_bytes() if path.stat().st_size <= MAX_AVATAR_BYTES else None
        except OSError:
            return None

    def save(self, persona: Persona, overwrite: bool = False) -> Path:
        """Write persona to <id>.yaml; refuses to replace an existing persona unless asked."""
        path = self.path_for(persona)
        taken = {n for p in self.load()[0] for n in (p.id, slugify(p.name))}
        if not overwrite and (path.exists() or slugify(persona.name) in taken):
            raise PersonaError(f"a persona named {persona.name!r} already exists ({path.name})")
        try:
            write_atomically(path, persona.to_yaml())
        except OSError as exc:
            raise PersonaError(f"cannot save {path}: {exc.strerror or exc}") from exc
        return path

    @staticmethod
    def _read(path: Path) -> Persona:
        return parse_persona(read_yaml(path))


def read_yaml(path: Path) -> object:
    """A library file's YAML, or PersonaError saying why it cannot be read."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PersonaError(f"file is larger than {MAX_FILE_BYTES // 1024} KiB")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaError(f"cannot read file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PersonaError(f"not valid YAML: {str(exc).splitlines()[0]}") from exc


def write_atomically(path: Path, text: str) -> None:
    """Write text beside path, then move it in: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
