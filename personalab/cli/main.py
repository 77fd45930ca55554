"""The command line: the parser, the settings it reads, and the small commands (check, bench)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from personalab.cli import chat as cli_chat
from personalab.cli import evaluate as cli_eval
from personalab.cli import groups as cli_groups
from personalab.cli import memory as cli_memory
from personalab.cli import models as cli_models
from personalab.cli import personas as cli_personas
from personalab.errors import PersonaLabError
from personalab.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
        if getattr(args, "user", None) is None and "user" in args:
            args.user = settings.user
        return args.run(args, settings)
    except PersonaLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m personalab",
        description="PersonaLab: personalized LLM replies with conversation memory. "
        "Every setting can also come from a PERSONALAB_* environment variable.",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    cli_chat.add_command(sub)
    cli_memory.add_commands(sub, _scope)

    check = sub.add_parser(
        "check", help="check a reply text against a persona's constraints (exit 3 if it fails)"
    )
    check.add_argument("--persona", required=True, help="persona id or name from the library")
    check.add_argument("--user", help="also check against this user's facts (e.g. allergies)")
    check.add_argument("text", help="the reply text to check")
    check.add_argument("--json", action="store_true", help="print JSON: passed and every check")
    check.set_defaults(run=_check)

    cli_personas.add_commands(sub)
    cli_groups.add_commands(sub)
    cli_models.add_commands(sub)
    cli_eval.add_commands(sub)

    bench = sub.add_parser("bench", help="measure recall quality, latency, model speed, app start")
    bench.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=BENCHES,
        help="one benchmark, or all (default)",
    )
    bench.add_argument("--data", type=Path, help="LoCoMo's locomo10.json (default ../shared/data)")
    bench.add_argument("--sizes", default="1000,10000,100000", help="store sizes for latency")
    bench.add_argument("--queries", type=int, default=100, help="queries per size")
    bench.add_argument("--split", default="test", choices=("dev", "test", "all"))
    bench.add_argument(
        "--packs",
        default="",
        help="models, facts-llm, facts-real, poison: only these packs (a,b); probes: the packs "
        "that write where each fact matters, each measured beside the run without",
    )
    bench.add_argument("--sessions", type=int, default=20, help="room: browser sessions at once")
    bench.add_argument(
        "--served-by",
        default="both",
        choices=("both", "in-process", "server"),
        help="room: the in-process model, llama.cpp's server, or both (default)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(run=_bench)
    return parser


BENCHES = (
    "all",
    "locomo",
    "probes",
    "facts",
    "latency",
    "faithfulness",
    "defaults",
    "compare",
    "memory",
    "speed",
    "app",
    "models",  # not part of "all": every installed pack through the quality probes (~30 min)
    "judge",  # not part of "all": the offline judge (Qwen 1.5B) on the probes (~1 h)
    "facts-llm",  # not part of "all": LLM fact extraction with each Qwen pack (~40 min)
    "facts-real",  # not part of "all": extractors on hand-labelled LoCoMo turns (--packs: LLMs)
    "poison",  # not part of "all": injections planted in memories, facts, cards (2 packs, ~1 h)
    "budget",  # not part of "all": first token cold and warm, and probe recall, per fact budget
    "room",  # not part of "all": --sessions browsers on one app, then on llama.cpp's server
)


def _scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="who is chatting (default: PERSONALAB_USER or 'local')")
    p.add_argument("--persona", required=True, help="persona id or name from the library")


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.replies.checks import check_reply, checks_for_fact

    persona = cli_memory.open_persona(settings, args.persona)
    checks = persona.checks()
    if args.user:
        facts = cli_memory.open_store(settings).list(args.user, persona.id, kind="fact")
        checks += [c for f in facts for c in checks_for_fact(f)]
    report = check_reply(args.text, checks)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for r in report.results:
            print(f"{'pass' if r.passed else 'FAIL'}  {r.check.constraint}: {r.detail}")
        if not checks:
            print(f"{persona.name} has no checkable constraints", file=sys.stderr)
    return 0 if report.passed else 3


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.evaluation.bench import run

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    packs = tuple(p.strip() for p in args.packs.split(",") if p.strip())
    return run(
        settings, args.what, sizes, args.queries, args.data, args.split, args.json, packs,
        args.sessions, args.served_by,
    )  # fmt: skip
