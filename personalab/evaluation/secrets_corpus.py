"""Real-format secrets, made up at run time (none is written in the repository), and the
LoCoMo turns that measure how often ordinary chat is wrongly redacted."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

from personalab.text.redaction import PLACEHOLDER, redact

ALNUM = string.ascii_letters + string.digits
LOWER = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"


def corpus(seed: int = 7) -> list[tuple[str, str]]:
    """(kind, secret) pairs in the formats people paste: keys of OpenAI, Anthropic, AWS,
    GitHub, GitLab, Slack, Stripe, Google, SendGrid, Twilio, Mailchimp, npm, PyPI, Discord,
    Telegram, JWTs, private-key blocks and passwords in URLs."""
    r = random.Random(seed)

    def pick(chars: str, n: int) -> str:
        return "".join(r.choice(chars) for _ in range(n))

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    def pem(label: str) -> str:
        body = "\n".join(pick(ALNUM + "+/", 64) for _ in range(4))
        return f"-----BEGIN {label} PRIVATE KEY-----\n{body}\n-----END {label} PRIVATE KEY-----"

    def slack(prefix: str, *parts: tuple[str, int]) -> str:
        return prefix + "-".join(pick(chars, n) for chars, n in parts)

    jwt = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': pick(HEX, 8)})}.{pick(ALNUM, 43)}"
    digits = string.digits
    return [
        ("openai", "sk-" + pick(ALNUM, 48)),
        ("openai project", "sk-proj-" + pick(ALNUM + "_-", 56)),
        ("openai legacy", "sk-" + pick(ALNUM, 20) + "T3BlbkFJ" + pick(ALNUM, 20)),
        ("anthropic", "sk-ant-api03-" + pick(ALNUM + "_-", 80) + "AA"),
        ("aws access key", "AKIA" + pick(string.ascii_uppercase + string.digits, 16)),
        ("aws secret", f"aws_secret_access_key = '{pick(ALNUM + '/+', 40)}'"),
        ("github classic", "ghp_" + pick(ALNUM, 36)),
        ("github fine-grained", "github_pat_" + pick(ALNUM, 22) + "_" + pick(ALNUM, 59)),
        ("gitlab", "glpat-" + pick(ALNUM + "_-", 20)),
        ("slack bot", slack("xoxb-", (digits, 12), (digits, 13), (ALNUM, 24))),
        ("slack user", slack("xoxp-", (digits, 12), (digits, 12), (LOWER, 32))),
        ("slack webhook", "https://hooks.slack.com/services/T" + pick(ALNUM, 8) + "/B"
         + pick(ALNUM, 8) + "/" + pick(ALNUM, 24)),
        ("stripe live", "sk_live_" + pick(ALNUM, 99)),
        ("stripe restricted", "rk_live_" + pick(ALNUM, 24)),
        ("google api key", "AIza" + pick(ALNUM + "_-", 35)),
        ("google oauth", "ya29." + pick(ALNUM + "_-", 60)),
        ("sendgrid", "SG." + pick(ALNUM + "_-", 22) + "." + pick(ALNUM + "_-", 43)),
        ("twilio", "SK" + pick(HEX, 32)),
        ("mailchimp", pick(HEX, 32) + "-us" + str(r.randint(1, 20))),
        ("npm", "//registry.npmjs.org/:_authToken=npm_" + pick(ALNUM, 36)),
        ("pypi", "pypi-AgEIcHlwaS5vcmc" + pick(ALNUM + "_-", 80)),
        ("discord", "M" + pick(ALNUM, 23) + "." + pick(ALNUM, 6) + "." + pick(ALNUM + "_-", 27)),
        ("telegram", pick(string.digits, 10) + ":" + pick(ALNUM + "_-", 35)),
        ("jwt", jwt),
        ("private key", pem("RSA")),
        ("openssh key", pem("OPENSSH")),
        ("postgres url", f"postgres://admin:{pick(ALNUM, 14)}@db.example.com:5432/prod"),
        ("redis url", f"redis://default:{pick(ALNUM, 20)}@cache.internal:6379"),
        ("bearer header", "Authorization: Bearer " + pick(ALNUM, 40)),
    ]  # fmt: skip


def secret_part(kind: str, secret: str) -> str:
    """The part that must not survive (the password of a URL, the value after a name)."""
    if kind.endswith(" url"):
        return secret.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    if kind == "aws secret":
        return secret.split("'")[1]
    if kind in ("private key", "openssh key"):
        return secret.splitlines()[1]
    if kind == "bearer header":
        return secret.rsplit(" ", 1)[1]
    if kind == "npm":
        return secret.split("=", 1)[1]
    return secret


def locomo_turns(path: Path, by_conversation: bool = False) -> list:
    """Every turn of the LoCoMo conversations (a list per conversation, if asked)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    turns = [
        [
            turn["text"]
            for key, session in sample["conversation"].items()
            if key.startswith("session_") and isinstance(session, list)
            for turn in session
        ]
        for sample in data
    ]
    return turns if by_conversation else [t for c in turns for t in c]


def wrongly_redacted(turns: list[str]) -> list[str]:
    """The ordinary turns redaction changes."""
    return [t for t in turns if PLACEHOLDER in redact(t)]
