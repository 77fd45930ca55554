"""Command line for groups: list, show, create, delete, and `chat --group`."""

from __future__ import annotations

import argparse
import json
import sys
import uuid

from personalab.errors import PersonaLabError
from personalab.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    from personalab.personas.groups import Strategy

    group = sub.add_parser("group", help="list, show, create or delete groups of personas")
    gsub = group.add_subparsers(required=True, metavar="ACTION")
    listing = gsub.add_parser("list", help="every group, with its members")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_list)
    show = gsub.add_parser("show", help="one group as YAML (or JSON)")
    show.add_argument("group")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=_show)
    create = gsub.add_parser("create", help="a new group of 2-6 personas from the library")
    create.add_argument("name")
    create.add_argument("--members", required=True, help="persona ids, comma separated")
    create.add_argument("--context", default="", help='shared context ("three days in Lisbon")')
    create.add_argument("--strategy", choices=[s.value for s in Strategy], default="least_misery")
    create.add_argument(
        "--members-learn", action="store_true",
        help="a member's own memory learns the facts they state in the group chat (chat --as)",
    )  # fmt: skip
    create.add_argument(
        "--question", action="append", default=[], help="a prepared question (repeatable)"
    )
    create.set_defaults(run=_create)
    delete = gsub.add_parser("delete", help="delete a group file (its members stay)")
    delete.add_argument("group")
    delete.set_defaults(run=_delete)


def _library(settings: Settings):
    from personalab.personas.groups import GroupLibrary

    return GroupLibrary(settings.personas_dir)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(settings)
    groups, broken = library.load()
    rows = []
    for g in groups:
        _, missing = library.members(g)
        rows.append({"id": g.id, "name": g.name, "members": g.members, "missing": missing,
                     "strategy": g.strategy.value, "context": g.context})  # fmt: skip
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    for r in rows if not args.json else []:
        gone = f" (missing: {', '.join(r['missing'])})" if r["missing"] else ""
        print(f"{r['id']:28} {', '.join(r['members'])}{gone}")
    for name, reason in broken:
        print(f"broken: {name}: {reason}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    import yaml

    group = _library(settings).get(args.group)
    data = group.model_dump(mode="json")
    if args.json:
        print(json.dumps({"id": group.id} | data, ensure_ascii=False, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.personas.groups import parse_group

    members = [m.strip() for m in args.members.split(",") if m.strip()]
    fields = {"name": args.name, "members": members, "context": args.context}
    fields |= {"strategy": args.strategy, "questions": args.question}
    group = parse_group(fields | {"members_learn": args.members_learn})
    print(_library(settings).save(group).id)
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    _library(settings).delete(args.group)
    return 0


def chat(args: argparse.Namespace, settings: Settings) -> int:
    """`chat --group NAME MESSAGE`: one answer for the group, checked for each member; with
    --compare, the generic answer (and --persona's alone) first, checked the same way."""
    from personalab import compose
    from personalab.groups import group_reply
    from personalab.prompts import ColumnKind, check_message

    check_message(args.message)
    library = _library(settings)
    group = library.get(args.group)
    personas, missing = library.members(group)
    for gone in missing:
        print(f"note: member {gone} is no longer in the library", file=sys.stderr)
    alone = [p for p in personas if args.persona in (p.id, p.name)]
    if args.persona and not alone:
        raise PersonaLabError(f"{args.persona!r} is not a member of the group {group.name!r}")
    backend = compose.backend_from_settings(settings)
    store = compose.store_from_settings(settings, compose.embedder_from_settings(settings))
    engine = compose.engine_from_settings(settings, store, backend)
    session = args.session or f"cli-{uuid.uuid4().hex[:12]}"
    answer = group_reply(
        engine, args.user, group, personas, args.message, session, not args.no_remember,
        args.speaker,
    )  # fmt: skip
    for clash in answer.clashes:
        print(f"clash: {clash}", file=sys.stderr)
    others = []
    if args.compare:
        kinds = [ColumnKind.GENERIC] + ([ColumnKind.PERSONALIZED] if alone else [])
        found = engine.compare(args.user, (alone or personas)[0], args.message, session, kinds,
                               False)  # fmt: skip
        others = list(zip(["generic"] + [f"{p.id} alone" for p in alone], found, strict=True))
    if args.json:
        answer.reply.read()
        answer.rate_members()
        shown = answer.to_json()
        for label, reply in others:
            text = reply.read()
            matrix = {pid: r.to_json() for pid, r in answer.matrix(text).items()}
            shown.setdefault("compare", {})[label] = {
                "text": text, "matrix": matrix, "kept_for": answer.kept_for(text)
            }  # fmt: skip
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return 0 if answer.reply.stats is not None else 1
    for label, reply in [*others, ("group", answer.reply)]:
        if others:
            print(f"== {label} ==")
        for chunk in reply:
            print(chunk, end="", flush=True)
        print()
        text = reply.text  # the guard's last attempt, without the markers between tries
        for member_id, report in answer.matrix(text).items():
            for r in report.failures:
                print(f"  {member_id}: check failed: {r.check.constraint}", file=sys.stderr)
        print(f"  {answer.kept_for(text)}", file=sys.stderr)
    for member_id, verdict in answer.rate_members().items():
        if isinstance(verdict, str):
            said = f"could not rate ({verdict})"
        else:
            said = ", ".join(e for e, on in verdict.errors.items() if on) or "fits"
        print(f"  judge, {member_id}: {said}", file=sys.stderr)
    return 0 if answer.reply.stats is not None else 1
