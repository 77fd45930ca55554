"""Command line for the persona library: list, show, import, export, delete."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from personalab.errors import PersonaError
from personalab.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    from personalab.personas.cards import EXPORT_FORMATS

    persona = sub.add_parser("persona", help="list, show, import, export or delete personas")
    psub = persona.add_subparsers(required=True, metavar="ACTION")

    listing = psub.add_parser("list", help="every persona in the library")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_list)

    show = psub.add_parser("show", help="one persona as YAML (or JSON)")
    show.add_argument("persona", help="persona id or name")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=_show)

    imp = psub.add_parser(
        "import", help="import a Character Card (JSON/PNG), PersonaChat lines, text or YAML"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--as",
        dest="as_role",
        choices=("assistant", "user"),
        help="a card's character is who the assistant plays (default) or the user",
    )
    imp.set_defaults(run=_import)

    exp = psub.add_parser("export", help="write a persona as YAML, Card V2/V3 JSON or Card PNG")
    exp.add_argument("persona", help="persona id or name")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="yaml")
    exp.add_argument("--out", type=Path, help="file to write (default: standard output)")
    exp.set_defaults(run=_export)

    delete = psub.add_parser("delete", help="delete a persona file (its memories stay)")
    delete.add_argument("persona", help="persona id or name")
    delete.set_defaults(run=_delete)

    old = sub.add_parser("personas", help="list the persona library (same as `persona list`)")
    old.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    old.set_defaults(run=_list)


def _library(settings: Settings):
    from personalab.personas.library import PersonaLibrary

    return PersonaLibrary(settings.personas_dir)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    personas, broken = _library(settings).load()
    if args.json:
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "summary": p.summary,
                "tags": p.tags,
                "seed_memories": p.seed.size,
                "checked_constraints": len(p.checks()),
            }
            for p in personas
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for p in personas:
            tags = f" [{', '.join(p.tags)}]" if p.tags else ""
            print(f"{p.id:32} {p.summary or p.name}{tags}")
    for b in broken:
        print(f"broken: {b.file_name}: {b.reason}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    persona = _library(settings).get(args.persona)
    if args.json:
        print(json.dumps({"id": persona.id} | persona.model_dump(), ensure_ascii=False, indent=2))
    else:
        print(persona.to_yaml(), end="")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.personas.cards import MAX_IMPORT_BYTES, import_file

    try:
        size = args.file.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise PersonaError(f"{args.file} is {size / 2**20:.0f} MB; the limit is 10 MB")
        data = args.file.read_bytes()
    except OSError as exc:
        raise PersonaError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    imported = import_file(data, args.file.name, args.as_role)
    saved = _library(settings).add(imported.persona, imported.avatar)
    print(saved.id)
    for note in imported.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"imported {imported.format} as {saved.name!r} (mapped to the {imported.mapped_to})",
        file=sys.stderr,
    )
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.personas.cards import export

    library = _library(settings)
    persona = library.get(args.persona)
    data = export(persona, args.format, library.avatar(persona))
    if args.out is None:
        if args.format == "card-png" and sys.stdout.isatty():
            raise PersonaError("a PNG is binary: give --out FILE (or redirect the output)")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise PersonaError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    print(f"wrote {args.out} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(settings)
    persona = library.get(args.persona)
    library.delete(persona.id)
    print(f"deleted {persona.id} ({persona.name}); its memories are kept", file=sys.stderr)
    return 0
