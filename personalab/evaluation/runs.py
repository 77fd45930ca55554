"""Saved evaluation runs: JSON and CSV written together or not at all, with what produced them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from pathlib import Path

from personalab.settings import Settings

RUNS_DIR = Path("eval-results")
SECRET_FIELDS = {"openai_api_key", "judge_api_key", "chroma_token"}


def git_commit(root: Path | None = None) -> str:
    """The commit this code is at, or "" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root or Path(__file__).resolve().parents[2],
            capture_output=True, text=True, timeout=5,
        )  # fmt: skip
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def describe(settings: Settings, **extra) -> dict:
    """The settings of a run, secrets left out, plus what else identifies it."""
    values = {k: str(v) for k, v in settings.__dict__.items() if k not in SECRET_FIELDS}
    return {"settings": values, "git_commit": git_commit(), "time": time.time()} | extra


def save(task: str, rows: list[dict], meta: dict, folder: Path = RUNS_DIR) -> Path:
    """Write <time>-<task>.json and .csv; both appear at once (written aside, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{task}"
    record = {"task": task, "meta": meta, "rows": rows}
    data = json.dumps(record, ensure_ascii=False, indent=1, default=str)
    table = _csv(rows)
    parts = [(folder / f".{stem}.json.part", data), (folder / f".{stem}.csv.part", table)]
    csv_path = folder / f"{stem}.csv"
    try:
        for path, text in parts:
            path.write_text(text, encoding="utf-8")
        os.replace(parts[1][0], csv_path)
        try:
            os.replace(parts[0][0], folder / f"{stem}.json")  # the JSON marks a complete run
        except OSError:
            csv_path.unlink(missing_ok=True)
            raise
    finally:
        for path, _ in parts:
            path.unlink(missing_ok=True)
    return folder / f"{stem}.json"


def _csv(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    return out.getvalue()


def load_runs(folder: Path = RUNS_DIR) -> list[dict]:
    """Every complete saved run, newest first (a damaged file is skipped)."""
    runs = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and "task" in record and "rows" in record:
            runs.append(record | {"path": str(path)})
    return runs


def latest_run(folder: Path, pattern: str) -> tuple[Path, dict] | None:
    """The newest readable run in folder whose name matches pattern, with its JSON."""
    for path in sorted(folder.glob(pattern), reverse=True):
        try:
            return path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None


def latest_bench(folder: Path, what: str) -> tuple[Path, dict] | None:
    """The newest bench run holding part `what`, from a run of that part alone or of all."""
    named = what.replace("_", "-")  # facts_real is saved as bench-facts-real-*.json
    candidates = sorted([*folder.glob(f"bench-{named}-*.json"), *folder.glob("bench-all-*.json")])
    for path in reversed(candidates):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if what in data:
            return path, data[what]
    return None
