"""`bench models`: each installed pack's speed (load, decode, first token cold and warm, generic
beside personalized) and quality (violations, instruction echo) on the test probes; the default."""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from personalab.compose import backend_from_settings
from personalab.embedding.embedder import Embedder
from personalab.engine import Engine
from personalab.evaluation import faithfulness
from personalab.evaluation.common import log
from personalab.memory.store import MemoryStore, open_client
from personalab.models import packs
from personalab.personas.library import PersonaLibrary
from personalab.prompts import ColumnKind
from personalab.settings import Settings
from personalab.stage.votes import wilson

PERSONAS = ("ananya-olympiad-student", "lena-vegan-marathoner", "margaret-retired-teacher")
# A pair per persona, the first cold and the second warm: each message is new to the model (a
# question repeated for the next persona made the generic prompt an exact cache hit, and so
# its first token an unfair floor).
QUESTIONS = (
    ("What should I cook for friends on Friday?", "Plan my Saturday for me."),
    ("Which gift should I buy my sister?", "How should I spend a free evening?"),
    ("What should I pack for a weekend away?", "Suggest a lunch I can take to work."),
)
# The default is the strongest pack that keeps a live demo responsive here (medians): a warm
# persona's first token within 1.5 s; decoding at 25 tokens/s or more, so that a compare of
# two full answers (the default 256 tokens each, queued in process) is done within 20 s; and a
# compare of two 96-token answers, everything included, within 15 s.
LIMITS = {"warm_first_token_s": 1.5, "decode_tok_s": 25.0, "compare_s": 15.0}


def speed(backend, embedder: Embedder, settings: Settings) -> dict:
    """First token of personalized replies, cold (a persona's first prompt) and warm (its
    next, once the work after the last reply is done, as when a person reads it and types),
    beside the generic reply's in the warm compares; decode rate and a compare's wall time.
    Through the engine as Compare runs it: recall and prompt planning count in each first
    token (measured from the moment its reply starts; the in-process model answers the columns
    in turn), and each exchange is stored."""
    library = PersonaLibrary(settings.personas_dir)
    folder = Path(tempfile.mkdtemp(prefix="personalab-models-"))
    first: dict[str, list[float]] = {"generic": [], "cold": [], "warm": []}
    decode, compare, reused, planning = [], [], [], []
    try:
        engine = Engine(MemoryStore(open_client(folder), embedder), backend, settings)
        kinds = [ColumnKind.GENERIC, ColumnKind.PERSONALIZED]
        for persona, pair in zip((library.get(p) for p in PERSONAS), QUESTIONS, strict=True):
            for turn, question in enumerate(pair):
                started = time.perf_counter()
                generic, personal = engine.compare("bench", persona, question, "s", kinds)
                planned = time.perf_counter() - started  # recall, checks and both prompts
                generic.read(), personal.read()  # in turn, as the in-process model serves them
                compare.append(time.perf_counter() - started)
                engine.settle()  # the person reads and types: the work after a reply is done
                planning.append(planned)
                if turn:
                    first["generic"].append(planned + generic.stats.first_token_s)
                first["warm" if turn else "cold"].append(planned + personal.stats.first_token_s)
                decode += [r.stats.chunks_per_s for r in (generic, personal) if r.stats.chunks > 8]
                if turn:
                    reused.append(
                        personal.stats.reused_tokens / max(1, personal.stats.prompt_tokens)
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    median = statistics.median
    return {
        "recall_and_plan_s": round(median(planning), 3),
        "first_token_generic_s": round(median(first["generic"]), 3),
        "first_token_cold_s": round(median(first["cold"]), 3),
        "warm_first_token_s": round(median(first["warm"]), 3),
        "warm_over_generic": round(median(first["warm"]) / median(first["generic"]), 2),
        "warm_prompt_reused": round(median(reused), 3) if reused else 0.0,
        "decode_tok_s": round(median(decode), 1) if decode else 0.0,
        "compare_s": round(median(compare), 2),
    }


def quality(backend, embedder: Embedder, settings: Settings, split: str, progress) -> dict:
    """Violations and instruction echo per system (generic, personalized, guarded), with 95 %
    Wilson intervals."""
    found = faithfulness.run(backend, embedder, settings, split, progress=progress)
    out = {}
    for name, s in found["systems"].items():
        n = s["replies"]
        row = {"replies": n, "seconds_p50": s["seconds_p50"]}
        for rate in ("violation_rate", "echo_rate", "refusal_rate"):
            k = round(s[rate] * n)
            low, high = wilson(k, n)
            row[rate] = s[rate]
            row[rate.replace("rate", "ci")] = [round(low, 3), round(high, 3)]
        out[name] = row
    return out


def run(
    embedder: Embedder,
    settings: Settings,
    split: str = "test",
    names: tuple[str, ...] = (),
    progress: Callable[[str], None] = log,
) -> dict:
    """Every installed pack (or those named): speed, quality, and the default the rule picks."""
    fixed = settings.replace(temperature=0.0, max_tokens=96, gguf_path="", backend="offline")
    rows = []
    for pack, _ in packs.installed():
        if names and pack.name not in names:
            continue
        progress(f"{pack.name}: loading")
        started = time.perf_counter()
        backend = backend_from_settings(fixed.replace(model=pack.name))
        row = {"pack": pack.name, "parameters": pack.parameters, "bytes": pack.size}
        # the file's size and recorded check included (its full SHA-256 runs at install)
        row["load_s"] = round(time.perf_counter() - started, 2)
        progress(f"{pack.name}: speed")
        row["speed"] = speed(backend, embedder, fixed)
        progress(f"{pack.name}: quality on the {split} probes")
        row["quality"] = quality(backend, embedder, fixed, split, progress)
        rows.append(row)
        del backend
        partial = Path("bench-results") / "bench-models-partial.json"  # a crash keeps the rest
        partial.parent.mkdir(exist_ok=True)
        partial.write_text(json.dumps({"split": split, "packs": rows}, indent=1))
    return {"split": split, "limits": LIMITS, "packs": rows, "default": choose(rows)}


def responsive(row: dict) -> bool:
    s = row["speed"]
    return (
        s["warm_first_token_s"] <= LIMITS["warm_first_token_s"]
        and s["decode_tok_s"] >= LIMITS["decode_tok_s"]
        and s["compare_s"] <= LIMITS["compare_s"]
    )


def choose(rows: list[dict]) -> str:
    """The largest pack that is responsive by LIMITS ("" when none is)."""
    fit = [r for r in rows if responsive(r)]
    return max(fit, key=lambda r: r["bytes"])["pack"] if fit else ""


def print_models(figures: dict) -> None:
    """A table per pack: speed, then quality per system."""
    print(f"\nmodel packs (temperature 0, 96 tokens; quality on the {figures['split']} probes)")
    for row in figures["packs"]:
        s = row["speed"]
        print(f"  {row['pack']}: load {row['load_s']} s, recall and prompts "
              f"{s.get('recall_and_plan_s', '?')} s (in each first token), "
              f"decode {s['decode_tok_s']} tok/s, "
              f"first token generic {s['first_token_generic_s']} s, personalized cold "
              f"{s['first_token_cold_s']} s, warm {s['warm_first_token_s']} s "
              f"({s['warm_over_generic']}x generic, {s['warm_prompt_reused']:.0%} of the prompt "
              f"reused), compare {s['compare_s']} s")  # fmt: skip
        for name, q in row["quality"].items():
            print(f"    {name:>12}: violations {q['violation_rate']:.0%} {q['violation_ci']}, "
                  f"echo {q['echo_rate']:.0%} {q['echo_ci']}, refusals {q['refusal_rate']:.0%}, "
                  f"{q['seconds_p50']} s per reply")  # fmt: skip
    print(f"  default by the rule {figures['limits']}: {figures['default'] or 'none responsive'}")
