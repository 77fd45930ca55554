"""Command line for memory: add, list, export, delete, and what a message would recall."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from personalab.errors import PersonaLabError
from personalab.prompts import MAX_MESSAGE_CHARS as MAX_MEMORY_CHARS
from personalab.records import ROLES, NewMemory, select
from personalab.settings import Settings
from personalab.text.orders import orders_in


def add_commands(sub: argparse._SubParsersAction, scope) -> None:
    """Register `memory ...` and `recall` on the main parser."""
    memory = sub.add_parser("memory", help="add, list, export or delete stored memories")
    msub = memory.add_subparsers(required=True, metavar="ACTION")

    add = msub.add_parser("add", help="store memories (the chat's write path, facts included)")
    scope(add)
    add.add_argument("texts", nargs="*", metavar="TEXT", help="one memory per argument")
    add.add_argument("--file", type=Path, help="text file (one memory a line) or JSON lines")
    add.add_argument("--role", choices=ROLES, default="user", help="who said it (default user)")
    add.add_argument("--session", default="cli", help="session id (default 'cli')")
    add.add_argument("--json", action="store_true", help="print what was stored as JSON")
    add.set_defaults(run=_add)

    listing = msub.add_parser("list", help="list the memories of a user x persona")
    scope(listing)
    listing.add_argument("--kind", choices=("turn", "fact"), help="only turns or only facts")
    listing.add_argument("--role", choices=ROLES, help="only what the user or assistant said")
    listing.add_argument("--session", help="only this session")
    listing.add_argument("--since", help="only from this date (YYYY-MM-DD) on")
    listing.add_argument("--until", help="only up to this date (YYYY-MM-DD)")
    listing.add_argument("--private", action="store_true", help="only private")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_list)

    search = msub.add_parser("search", help="the facts and turns a query recalls, with scores")
    scope(search)
    search.add_argument("query")
    search.add_argument("-k", type=int, default=8, help="turns to show (default 8)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=_search)

    edit = msub.add_parser("edit", help="change a memory's words (history kept), privacy or pin")
    scope(edit)
    edit.add_argument("id", help="memory id (or a unique prefix)")
    edit.add_argument("text", nargs="?", help="the new words")
    privacy = edit.add_mutually_exclusive_group()
    privacy.add_argument("--private", action="store_true", help="keep it from remote models")
    privacy.add_argument("--shared", action="store_true", help="let remote models see it")
    pin = edit.add_mutually_exclusive_group()
    pin.add_argument("--pin", action="store_true", help="a fact: kept first in a full prompt")
    pin.add_argument("--unpin", action="store_true", help="a fact: by relevance again")
    edit.add_argument(
        "--situations",
        metavar="'A; B'",
        help="a fact: where it matters, separated by semicolons ('' clears them)",
    )
    edit.add_argument("--json", action="store_true", help="print the memory as JSON")
    edit.set_defaults(run=_edit)

    history = msub.add_parser("history", help="the earlier values of a fact (or memory)")
    scope(history)
    history.add_argument("id", help="memory id (or a unique prefix)")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(run=_history)

    forget = msub.add_parser("forget", help="forget every memory of a user x persona")
    scope(forget)
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.set_defaults(run=_forget)

    imp = msub.add_parser("import", help="read memories back from what `memory export` wrote")
    scope(imp)
    imp.add_argument("file", type=Path, help="a JSON lines file")
    imp.set_defaults(run=_import)

    export = msub.add_parser("export", help="print the memories as JSON lines")
    scope(export)
    export.set_defaults(run=_export)

    delete = msub.add_parser("delete", help="delete memories by id, or all with --all")
    scope(delete)
    delete.add_argument("ids", nargs="*", help="memory ids (or unique prefixes) to delete")
    delete.add_argument("--all", action="store_true", help="forget every memory of this scope")
    delete.set_defaults(run=_delete)

    reset = msub.add_parser("reset", help="forget everything and restore the persona's seed")
    scope(reset)
    reset.set_defaults(run=_reset)

    recall = sub.add_parser(
        "recall", help="what the personalized prompt would hold for messages (no model call)"
    )
    scope(recall)
    recall.add_argument("messages", nargs="+", metavar="MESSAGE")
    recall.add_argument("--session", default="", help="the session the messages belong to")
    recall.add_argument("--json", action="store_true", help="print a JSON list, one per message")
    recall.set_defaults(run=_recall)


def open_store(settings: Settings):
    from personalab.compose import embedder_from_settings, store_from_settings

    return store_from_settings(settings, embedder_from_settings(settings))


def open_persona(settings: Settings, name: str):
    from personalab.compose import library_from_settings

    return library_from_settings(settings).get(name)


def memory_engine(settings: Settings):
    """An engine for memory work; it loads a model only when facts are extracted by one."""
    from personalab.compose import backend_from_settings
    from personalab.engine import Engine

    needs_model = settings.fact_extraction == "llm" or (
        settings.fact_extraction == "auto" and settings.backend == "openai"
    )
    backend = backend_from_settings(settings) if needs_model else None
    return Engine(open_store(settings), backend, settings)


def read_items(args: argparse.Namespace) -> list[NewMemory]:
    """Memories from the arguments or the file; every line is checked before anything is kept."""
    items = [NewMemory(t, args.role, args.session) for t in args.texts if t.strip()]
    for number, item in enumerate(items, 1):
        _check_size(item.text, f"argument {number}")
    if args.file is None:
        if not items:
            raise PersonaLabError("give the memories as arguments or with --file FILE")
        return items
    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaLabError(f"cannot read {args.file}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            items.append(NewMemory(line.strip(), args.role, args.session))
        else:
            try:
                items.append(_from_json_line(json.loads(line), args))
            except (ValueError, TypeError) as exc:
                raise PersonaLabError(
                    f"{args.file}, line {number}: {exc}; nothing was stored"
                ) from exc
        _check_size(items[-1].text, f"{args.file}, line {number},")
    return items


def _check_size(text: str, where: str) -> None:
    """PersonaLabError naming where, when text is over MAX_MEMORY_CHARS."""
    if len(text) > MAX_MEMORY_CHARS:
        raise PersonaLabError(
            f"{where} has {len(text):,} characters; a memory holds at most "
            f"{MAX_MEMORY_CHARS:,} (a long message's worth): split it into shorter ones. "
            "Nothing was stored"
        )


def _from_json_line(data: object, args: argparse.Namespace) -> NewMemory:
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError('each JSON line needs a "text" string')
    role = data.get("role", args.role)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    when = data.get("time")
    if isinstance(when, str):
        when = datetime.fromisoformat(when).timestamp()
    elif when is not None and not isinstance(when, int | float):
        raise ValueError('"time" must be an ISO date-time or seconds since 1970')
    return NewMemory(data["text"], role, str(data.get("session", args.session)), created_at=when)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    items = read_items(args)
    persona = open_persona(settings, args.persona)
    saved = memory_engine(settings).remember(args.user, persona.id, items)
    if args.json:
        out = {"stored": [m.to_json() for m in saved.turns]} | saved.to_json()
        print(json.dumps(out, ensure_ascii=False, indent=2))
    actions = [c.action for c in saved.facts]
    summary = ", ".join(f"{actions.count(a)} {a}" for a in dict.fromkeys(actions)) or "none"
    print(f"stored {len(saved.turns)} memories; facts: {summary}", file=sys.stderr)
    if saved.facts_error:
        print(f"warning: facts were not updated: {saved.facts_error}", file=sys.stderr)
    return 0


def _day(text: str | None, end: bool = False) -> float | None:
    if not text:
        return None
    try:
        day = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PersonaLabError(f"dates are YYYY-MM-DD, not {text!r}") from exc
    if day.tzinfo is None:  # in UTC, as the list prints them
        day = day.replace(tzinfo=UTC)
    return day.timestamp() + (86400 if end and len(text) <= 10 else 0)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    persona = open_persona(settings, args.persona)
    memories = select(
        open_store(settings).list(args.user, persona.id, args.session, args.kind),
        role=args.role,
        since=_day(args.since),
        until=_day(args.until, end=True),
        private_only=bool(args.private),
    )
    if args.json:
        rows = [m.to_json() | {"kept_out_as": orders_in(m.text)} for m in memories]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for m in memories:
        why = f"  [kept out of prompts: {why}]" if (why := orders_in(m.text)) else ""
        print(f"{m.when:%Y-%m-%d %H:%M} {m.kind:4} {m.role:9} {m.id[:8]} {m.text}{why}")
    print(f"{len(memories)} memories", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    persona = open_persona(settings, args.persona)
    for line in open_store(settings).export_jsonl(args.user, persona.id):
        print(line)
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    store, persona = open_store(settings), open_persona(settings, args.persona)
    if args.all:
        count = store.count(args.user, persona.id)
        store.forget_all(args.user, persona.id)
        print(f"deleted all {count} memories", file=sys.stderr)
    elif args.ids:
        known = {m.id for m in store.list(args.user, persona.id)}
        full = [i for i in known if any(i.startswith(p) for p in args.ids)]
        store.delete(args.user, persona.id, full)
        print(f"deleted {len(full)} memories", file=sys.stderr)
    else:
        raise PersonaLabError("name memory ids to delete, or pass --all")
    return 0


def _one(store, user: str, persona_id: str, prefix: str):
    matches = [m for m in store.list(user, persona_id) if m.id.startswith(prefix)]
    if len(matches) != 1:
        what = "no memory" if not matches else f"{len(matches)} memories"
        raise PersonaLabError(f"{what} of {user}/{persona_id} start with {prefix!r}")
    return matches[0]


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    persona = open_persona(settings, args.persona)
    engine = memory_engine(settings.replace(fact_extraction="rules"))
    engine.policy = replace(engine.policy, episodes=args.k)
    recalled = engine.recall(args.user, persona, args.query, "")
    hits = recalled.facts[: args.k] + recalled.episodes
    if args.json:
        print(json.dumps([h.to_json() for h in hits], ensure_ascii=False, indent=2))
        return 0
    for h in hits:
        kind = "pin" if h.memory.pinned else h.memory.kind
        print(f"{h.score:5.2f} {kind:4} {h.memory.id[:8]} {h.memory.text}")
    return 0


def _edit(args: argparse.Namespace, settings: Settings) -> int:
    store, persona = open_store(settings), open_persona(settings, args.persona)
    memory = _one(store, args.user, persona.id, args.id)
    flags = args.private or args.shared or args.pin or args.unpin or args.situations is not None
    if args.text is None and not flags:
        raise PersonaLabError(
            "give the new words, or --private / --shared, --pin / --unpin, or --situations"
        )
    if (args.pin or args.unpin) and memory.kind != "fact":
        raise PersonaLabError("only a fact can be pinned; this memory is a turn")
    if args.situations is not None and memory.kind != "fact":
        raise PersonaLabError("only a fact has situations; this memory is a turn")
    if args.text is not None:
        memory = store.edit(args.user, persona.id, memory.id, args.text)
    if args.private or args.shared:
        store.set_private(args.user, persona.id, [memory.id], args.private)
    if args.pin or args.unpin:
        store.set_pinned(args.user, persona.id, [memory.id], args.pin)
    if args.situations is not None:
        store.set_situations(args.user, persona.id, memory.id, args.situations.split(";"))
    memory = store.get(args.user, persona.id, memory.id)
    if args.json:
        print(json.dumps(memory.to_json(), ensure_ascii=False, indent=2))
    print(f"saved {memory.id[:8]}: {memory.text}", file=sys.stderr)
    return 0


def _history(args: argparse.Namespace, settings: Settings) -> int:
    store, persona = open_store(settings), open_persona(settings, args.persona)
    memory = _one(store, args.user, persona.id, args.id)
    now = {"text": memory.text, "at": memory.changed_at, "source": "", "change": "current"}
    if memory.kind == "fact":  # where it matters, for the value it has now
        now["situations"] = list(memory.situations)
    rows = [r.to_json() for r in memory.history] + [now]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        when = datetime.fromtimestamp(r["at"]).strftime("%Y-%m-%d %H:%M")
        print(f"{when} {r['change']:9} {r['text']}")
    if memory.situations:
        print(f"{'':16} {'matters':9} {'; '.join(memory.situations)}")
    return 0


def _forget(args: argparse.Namespace, settings: Settings) -> int:
    store, persona = open_store(settings), open_persona(settings, args.persona)
    count = store.count(args.user, persona.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise PersonaLabError("memory forget needs --yes when it cannot ask (no terminal)")
        answer = input(f"Forget all {count} memories of {args.user} with {persona.name}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing was forgotten", file=sys.stderr)
            return 1
    store.forget_all(args.user, persona.id)
    print(f"forgot {count} memories", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.records import parse_export

    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaLabError(f"cannot read {args.file}: {exc}") from exc
    memories = parse_export(lines)  # every line checked before anything is written
    store, persona = open_store(settings), open_persona(settings, args.persona)
    store.restore(args.user, persona.id, memories)
    print(f"imported {len(memories)} memories into {args.user}/{persona.id}", file=sys.stderr)
    return 0


def _reset(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.seeding import reset_demo

    persona = open_persona(settings, args.persona)
    saved = reset_demo(memory_engine(settings.replace(fact_extraction="rules")), args.user, persona)
    print(
        f"restored the seed of {persona.name}: {len(saved.turns)} turns, {len(saved.facts)} facts",
        file=sys.stderr,
    )
    return 0


def _recall(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.prompts import ColumnKind
    from personalab.seeding import ensure_seeded

    persona = open_persona(settings, args.persona)
    engine = memory_engine(settings.replace(fact_extraction="rules"))
    if settings.seed_personas:
        ensure_seeded(engine, args.user, persona)
    results = []
    for message in args.messages:
        recalled = engine.recall(args.user, persona, message, args.session)
        plan = engine.plan(ColumnKind.PERSONALIZED, message, persona, recalled)
        results.append(
            {
                "message": message,
                "facts": [f.to_json() for f in plan.facts],
                "facts_left_out": plan.facts_left_out,
                "episodes": [e.to_json() for e in plan.memories],
                "recent_turns": len(plan.history),
                "messages": plan.to_json()["messages"],
                "timings_ms": {k: round(v, 2) for k, v in recalled.timings_ms.items()},
            }
        )
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    for result in results:
        print(f"> {result['message']}")
        for fact in result["facts"]:
            print(f"  fact    {fact['score']:.2f}  {fact['memory']['text']}")
        for episode in result["episodes"]:
            p = episode["parts"]
            print(
                f"  episode {episode['score']:.2f}  (dense {p['dense']:.2f}, keyword "
                f"{p['keyword_scaled']:.2f}, recency {p['recency']:.2f})  "
                f"{episode['memory']['text']}"
            )
    return 0
