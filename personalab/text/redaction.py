"""Redaction of things that look like secrets (API keys, tokens) before text is stored or shown."""

from __future__ import annotations

import re

SECRET_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style keys
    re.compile(r"\b(?:ghp|gho|github_pat|xox[abp])_[A-Za-z0-9_]{16,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*"),
]


def redact(text: str, known: tuple[str, ...] = ()) -> str:
    """Replace key-like strings, and any of the `known` secrets, with a placeholder."""
    for secret in known:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[redacted secret]")
    for pattern in SECRET_PATTERNS:
        text = pattern.sub("[redacted secret]", text)
    return text
