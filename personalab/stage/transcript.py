"""A comparison session as Markdown and JSON, and a JSON export read back to show again."""

from __future__ import annotations

import json
import time

from personalab.errors import PersonaLabError
from personalab.text.safe import safe_markdown

FORMAT = "personalab-session"
VERSION = 1
MAX_BYTES = 20 * 1024 * 1024


def session_json(rounds: list[dict], user: str, votes: list[dict] | None = None) -> bytes:
    """Every round (message, columns with text, timings, facts, memories, checks) and votes."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "user": user,
        "rounds": rounds,
        "votes": votes or [],
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


def session_markdown(rounds: list[dict], user: str, votes: list[dict] | None = None) -> str:
    """A readable record of the session; replies are made safe to render anywhere."""
    lines = [f"# PersonaLab session ({user}, {time.strftime('%Y-%m-%d %H:%M')})", ""]
    for n, round_ in enumerate(rounds, 1):
        lines += [f"## {n}. {round_['message']}", ""]
        for column in round_["columns"]:
            lines += _column(column)
    for vote in votes or []:
        lines.append(
            f"- Vote ({vote['persona']}): {vote['winner']} among {', '.join(vote['shown'])}"
        )
    return "\n".join(lines) + "\n"


def _column(column: dict) -> list[str]:
    stats = column.get("stats") or {}
    checks = (column.get("checks") or {}).get("checks", [])
    prompt = column.get("prompt") or {}
    out = [f"### {column.get('label') or column['kind']} ({column.get('persona', '')})", ""]
    out += [safe_markdown(column.get("text", "")), ""]
    if stats:
        out.append(
            f"*first token {stats['first_token_s']:.2f} s, {stats['total_s']:.2f} s in all, "
            f"{stats['chunks']} tokens*"
        )
    for fact in prompt.get("facts", []):
        out.append(f"- fact: {safe_markdown(fact['memory']['text'])}")
    for memory in prompt.get("memories", []):
        out.append(f"- memory ({memory['score']:.2f}): {safe_markdown(memory['memory']['text'])}")
    for check in checks:
        mark = "pass" if check["passed"] else "FAIL"
        out.append(
            f"- check {mark}: {safe_markdown(check['check']['constraint'])} ({check['detail']})"
        )
    return [*out, ""]


def read_session(data: bytes) -> dict:
    """A session JSON export, checked; PersonaLabError with the reason when it is not one."""
    if len(data) > MAX_BYTES:
        raise PersonaLabError("the file is larger than 20 MB; is it a PersonaLab session?")
    try:
        session = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PersonaLabError(f"not a PersonaLab session export: {exc}") from exc
    if not isinstance(session, dict) or session.get("format") != FORMAT:
        raise PersonaLabError("not a PersonaLab session export (no format marker)")
    rounds = session.get("rounds")
    if not isinstance(rounds, list) or not all(_valid_round(r) for r in rounds):
        raise PersonaLabError("the session's rounds are damaged: each needs a message and columns")
    return session


def _valid_round(round_: object) -> bool:
    return (
        isinstance(round_, dict)
        and isinstance(round_.get("message"), str)
        and isinstance(round_.get("columns"), list)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("text"), str)
            and isinstance(c.get("kind"), str)
            for c in round_["columns"]
        )
    )
