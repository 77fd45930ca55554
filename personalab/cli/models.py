"""Command line for model packs: list them with what they are, install one, verify one."""

from __future__ import annotations

import argparse
import json

from personalab.models import packs
from personalab.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="list, install or verify the offline model packs")
    msub = models.add_subparsers(required=True, metavar="ACTION")

    listing = msub.add_parser("list", help="every pack: size, license, source, hash, installed")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_list)

    install = msub.add_parser("install", help="download, assemble and verify a pack (pinned)")
    install.add_argument(
        "name", nargs="?", choices=list(packs.PACKS), help="default: the pack in use"
    )
    install.add_argument("--all", action="store_true", help="every pack")
    install.set_defaults(run=_install)

    verify = msub.add_parser("verify", help="hash an installed pack's file again (exit 1 if bad)")
    verify.add_argument("name", choices=list(packs.PACKS))
    verify.set_defaults(run=_verify)


def _row(pack: packs.ModelPack, settings: Settings) -> dict:
    path = packs.model_path(pack, packs.packs_dir())
    return {
        "name": pack.name,
        "title": pack.title,
        "parameters": pack.parameters,
        "bytes": pack.size,
        "license": pack.license,
        "source": pack.source,
        "sha256": pack.sha256,
        "packages": [p.spec for p in pack.packages],
        "installed": path.is_file() and path.stat().st_size == pack.size,
        "path": str(path),
        "in_use": pack.name == settings.model,
    }


def _list(args: argparse.Namespace, settings: Settings) -> int:
    rows = [_row(p, settings) for p in packs.PACKS.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "installed" if r["installed"] else f"not installed: models install {r['name']}"
        mark = " (in use)" if r["in_use"] else ""
        print(f"{r['name']}{mark}: {r['title']}, {packs.PACKS[r['name']].size_label}, "
              f"{r['license']}, from {r['source']}, sha256 {r['sha256']}; {state}")  # fmt: skip
    return 0


def _install(args: argparse.Namespace, settings: Settings) -> int:
    names = list(packs.PACKS) if args.all else [args.name or settings.model]
    for name in names:
        print(packs.install(packs.find(name), packs.packs_dir()))
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    pack = packs.find(args.name)
    path = packs.model_path(pack, packs.packs_dir())
    packs.verify(path, pack)
    print(f"{pack.name}: {path} matches sha256 {pack.sha256}")
    return 0
