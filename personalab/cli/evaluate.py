"""Command line evaluation (`eval`) and the generated benchmark report (`report`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from personalab.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    from personalab.evaluation import TASKS

    ev = sub.add_parser("eval", help="run an evaluation: " + ", ".join(TASKS))
    ev.add_argument("task", choices=TASKS)
    ev.add_argument("--limit", type=int, default=None, help="items per set (default: task's)")
    ev.add_argument("--data", type=Path, help="LoCoMo's locomo10.json (for locomo)")
    ev.add_argument("--out", type=Path, default=Path("eval-results"), help="where runs are saved")
    ev.add_argument("--split", choices=("dev", "test", "all"), help="group: the probes' split")
    ev.add_argument(
        "--systems", help="group: only these, comma separated (generic,individual,group,guarded)"
    )
    ev.add_argument("--json", action="store_true", help="print the summary rows as JSON")
    ev.set_defaults(run=_eval)

    report = sub.add_parser("report", help="write docs/benchmarks.md from saved runs")
    report.add_argument("--bench", type=Path, default=Path("bench-results"))
    report.add_argument("--eval", dest="eval_dir", type=Path, default=Path("eval-results"))
    report.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    report.set_defaults(run=_report)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from personalab import compose
    from personalab.evaluation import harness, runs
    from personalab.evaluation.common import LOCOMO

    needs_model = args.task in ("preference", "winrate", "group")
    judge = compose.judge_from_settings(settings)
    work = harness.Workspace(
        compose.embedder_from_settings(settings),
        settings,
        compose.backend_from_settings(settings) if needs_model else None,
        judge,
    )
    options = {} if args.limit is None else {"limit": args.limit or None}
    if args.task == "locomo":
        options["data"] = args.data or LOCOMO
    if args.task == "group":
        options |= {"split": args.split or "test"}
        if args.systems:
            options["systems"] = tuple(s.strip() for s in args.systems.split(","))
    last = [0.0]

    def show(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 2 and total:
            left = job.seconds_left
            eta = f", about {left:.0f} s left" if left is not None else ""
            print(f"{args.task}: {done}/{total}{eta}", file=sys.stderr, flush=True)
            last[0] = time.monotonic()

    job = harness.Job(listener=show)
    try:
        rows = harness.run(args.task, work, job, **options)
    except (harness.Cancelled, KeyboardInterrupt):
        print("cancelled: nothing was saved", file=sys.stderr)
        return 130
    meta = runs.describe(
        settings,
        model=work.backend.name if work.backend else "",
        judge=judge.backend.name if judge else "",
        data=str(options.get("data", "built-in probes")),
    )
    path = runs.save(args.task, rows, meta, args.out)
    print(f"saved {path} and {path.with_suffix('.csv')}", file=sys.stderr)
    summary = [r for r in rows if r.get("summary")] or rows
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        for row in summary:
            print(
                "  ".join(f"{k} {v}" for k, v in row.items() if k not in ("summary", "by_category"))
            )
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from personalab.evaluation.report import write_report

    path = write_report(args.bench, args.eval_dir, args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0
