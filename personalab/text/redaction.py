"""Redaction of secrets (API keys, tokens, passwords in URLs, private keys) before text is
stored, shown or logged: detect-secrets' maintained detectors, run in process, plus the formats
they lack."""

from __future__ import annotations

import functools
import re

PLACEHOLDER = "[redacted secret]"

# Formats detect-secrets has no detector for (or matches only in part), and whole key blocks.
OWN_PATTERNS = (
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
    ),
    re.compile(r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{16,}"),  # OpenAI, Anthropic
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"),  # Google OAuth access tokens
    re.compile(r"\b(?:github_pat|ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{16,}"),  # GitHub, any length
    re.compile(r"\bxox[abposr][-_][A-Za-z0-9_-]{10,}"),  # Slack, any case
    re.compile(r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}"),  # Stripe, any length
    re.compile(r"\bnpm_[A-Za-z0-9]{36,}"),  # npm (its detector takes the rest of the line)
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*"),
)
# Characters a token is made of: a detector's partial match is widened over them (to the left
# only over word characters, so "key=" before a key stays).
_BEFORE = re.compile(r"[A-Za-z0-9_-]")
_AFTER = re.compile(r"[A-Za-z0-9_\-.+/=]")


@functools.cache
def _detector_patterns() -> tuple[re.Pattern, ...]:
    """The regexes of detect-secrets' format detectors (not its entropy or keyword ones,
    which flag ordinary words)."""
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector
    from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
    from detect_secrets.plugins.twilio import TwilioKeyDetector

    detectors = (
        AWSKeyDetector, AzureStorageKeyDetector, BasicAuthDetector, DiscordBotTokenDetector,
        GitHubTokenDetector, GitLabTokenDetector, JwtTokenDetector, MailchimpDetector,
        OpenAIDetector, PrivateKeyDetector, PypiTokenDetector, SendGridDetector,
        SlackDetector, SquareOAuthDetector, StripeDetector, TelegramBotTokenDetector,
        TwilioKeyDetector,
    )  # fmt: skip
    return tuple(p for d in detectors for p in d().denylist)


def _spans(text: str) -> list[tuple[int, int]]:
    """Where the secrets are: each match, or its last group when that holds the secret (a
    password in a URL), widened over the token it is part of."""
    spans = []
    for pattern in OWN_PATTERNS + _detector_patterns():
        for m in pattern.finditer(text):
            groups = [i for i in range(1, (pattern.groups or 0) + 1) if m.group(i)]
            if groups and len(m.group(groups[-1])) >= 8:
                spans.append(m.span(groups[-1]))
                continue
            start, end = m.span()
            while start > 0 and _BEFORE.match(text[start - 1]):
                start -= 1
            while end < len(text) and _AFTER.match(text[end]):
                end += 1
            spans.append((start, end))
    return spans


def redact(text: str, known: tuple[str, ...] = ()) -> str:
    """Replace secrets, and any of the `known` ones, with a placeholder."""
    for secret in known:
        if secret and len(secret) >= 8:
            text = text.replace(secret, PLACEHOLDER)
    spans = sorted(_spans(text))
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        if end <= at:
            continue
        out.append(text[at : max(at, start)] + PLACEHOLDER)
        at = end
    return "".join(out) + text[at:]
