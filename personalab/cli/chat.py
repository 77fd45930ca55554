"""Command line chat: one reply, several column kinds, or a persona grid; JSON per column."""

from __future__ import annotations

import argparse
import json
import sys
import uuid

from personalab.errors import PersonaLabError
from personalab.settings import Settings

KINDS = ("generic", "persona", "memory", "personalized")


def add_command(sub: argparse._SubParsersAction) -> None:
    chat = sub.add_parser(
        "chat", help="send one message; print the reply (or several, with --compare/--personas)"
    )
    chat.add_argument("--user", help="who is chatting (default: PERSONALAB_USER or 'local')")
    chat.add_argument("--persona", help="persona id or name from the library")
    chat.add_argument("message", help="the message to send")
    chat.add_argument("--compare", action="store_true", help="generic and personalized answers")
    chat.add_argument("--kinds", help=f"columns to compare, comma separated: {','.join(KINDS)}")
    chat.add_argument("--personas", help="a grid: the personalized answer of 2-4 personas")
    chat.add_argument("--group", help="one answer for this group, checked for each member")
    chat.add_argument(
        "--as", dest="speaker", help="with --group: the member speaking (their memory learns "
        "the facts they state, if the group lets members learn)",
    )  # fmt: skip
    chat.add_argument("--json", action="store_true", help="print JSON: one object per column")
    chat.add_argument("--session", help="continue this session (default: a new one)")
    chat.add_argument("--no-remember", action="store_true", help="do not write this exchange")
    chat.set_defaults(run=run)


def columns(args: argparse.Namespace, settings: Settings) -> list[tuple]:
    """(persona, kind) per column, from --persona with --compare/--kinds, or --personas."""
    from personalab.compose import library_from_settings
    from personalab.prompts import ColumnKind

    library = library_from_settings(settings)
    if args.personas:
        names = [n.strip() for n in args.personas.split(",") if n.strip()]
        if not 2 <= len(names) <= 4:
            raise PersonaLabError("--personas takes 2 to 4 persona ids, comma separated")
        personas = [library.get(n) for n in names]
        return [(p, ColumnKind.PERSONALIZED) for p in personas]
    if not args.persona:
        raise PersonaLabError("name a persona with --persona (or several with --personas)")
    persona = library.get(args.persona)
    if args.kinds:
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise PersonaLabError(f"--kinds takes {', '.join(KINDS)}; not {', '.join(unknown)}")
        return [(persona, ColumnKind(k)) for k in dict.fromkeys(kinds)]
    if args.compare:
        return [(persona, ColumnKind.GENERIC), (persona, ColumnKind.PERSONALIZED)]
    return [(persona, ColumnKind.PERSONALIZED)]


def run(args: argparse.Namespace, settings: Settings) -> int:
    from personalab import compose
    from personalab.prompts import check_message
    from personalab.seeding import ensure_seeded
    from personalab.stage.columns import stream_columns

    check_message(args.message)  # before a model loads: an empty message needs none
    if args.group:
        from personalab.cli.groups import chat as group_chat

        return group_chat(args, settings)
    plan = columns(args, settings)
    settings = settings.replace(prewarm=False)  # one message per process: no next one to warm
    backend = compose.backend_from_settings(settings)  # first: a wrong model path fails fast
    store = compose.store_from_settings(settings, compose.embedder_from_settings(settings))
    engine = compose.engine_from_settings(settings, store, backend)
    session = args.session or f"cli-{uuid.uuid4().hex[:12]}"
    if settings.seed_personas:
        for persona in {p.id: p for p, _ in plan}.values():
            ensure_seeded(engine, args.user, persona)
    answered = engine.answer_columns(args.user, args.message, session, plan, not args.no_remember)
    owners = [p for p, _ in answered]
    replies = [r for _, r in answered]
    several = len(replies) > 1
    if args.json:
        for event in stream_columns(replies, backend.concurrent):
            label = f"{owners[event.column].id}/{replies[event.column].plan.kind.value}"
            if event.kind == "error":
                print(f"error: {label}: {event.text}", file=sys.stderr)
            elif event.kind in ("started", "done"):
                print(f"{label}: {event.kind}", file=sys.stderr)
        for reply in replies:
            reply.wait_judge()  # it rates each reply after the stream; its verdict is in the JSON
        out = {
            "user": args.user,
            "session": session,
            "model": backend.name,
            "columns": [
                r.to_json() | {"persona": p.id, "persona_name": p.name}
                for r, p in zip(replies, owners, strict=True)
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for reply, persona in zip(replies, owners, strict=True):
            if several:
                print(f"== {persona.id} · {reply.plan.kind.value} ==")
            for chunk in reply:
                print(chunk, end="", flush=True)
            print()
            _notes(reply)
    if not args.no_remember and (engine.extractor or engine.situations_by):
        print("learning facts from the message before exiting…", file=sys.stderr)
        engine.settle()
    failed = [r for r in replies if r.memory_error]
    for reply in failed:
        print(f"error: the reply was not saved: {reply.memory_error}", file=sys.stderr)
    unanswered = [r for r in replies if r.stats is None]
    return 1 if failed or unanswered else 0


def _notes(reply) -> None:
    """What a person reading the terminal should know about a reply, on stderr."""
    for result in reply.report.failures if reply.report else []:
        print(f"  check failed: {result.check.constraint} ({result.detail})", file=sys.stderr)
    if reply.guard_log and len(reply.guard_log.attempts) > 1:
        print(f"  guard: {reply.guard_log.summary}", file=sys.stderr)
    if reply.judging is not None:  # the reply is printed already; the verdict follows it
        reply.wait_judge()
        if reply.verdict is not None:
            errors = [e for e, on in reply.verdict.errors.items() if on]
            print(f"  judge: {', '.join(errors) or 'fits'}", file=sys.stderr)
        else:
            print(f"  judge: could not rate ({reply.judge_error})", file=sys.stderr)
    for hit in reply.plan.facts + reply.plan.memories:
        print(f"  {hit.memory.kind} {hit.score:.2f}: {hit.memory.text[:100]}", file=sys.stderr)
