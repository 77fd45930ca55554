"""Secrets in real formats never reach the store, an export or a log; ordinary chat is left be."""

import json

import pytest

from personalab.evaluation.common import LOCOMO
from personalab.evaluation.secrets_corpus import (
    corpus,
    locomo_turns,
    secret_part,
    wrongly_redacted,
)
from personalab.text.redaction import PLACEHOLDER, redact
from tests.conftest import run_cli

PERSONA = "lena-vegan-marathoner"
SECRETS = corpus()


def leaked(part: str, text: str) -> bool:
    """The secret, or any 12 characters in a row of it, in text."""
    return part in text or any(part[i : i + 12] in text for i in range(0, len(part) - 11))


def test_the_corpus_has_every_format_asked_for():
    kinds = {kind.split()[0] for kind, _ in SECRETS}
    wanted = {"openai", "anthropic", "aws", "github", "slack", "stripe", "google", "jwt"}
    assert len(SECRETS) >= 25 and wanted <= kinds
    assert {"private", "postgres"} <= kinds  # a private-key block, a password in a URL


@pytest.mark.parametrize("kind, secret", SECRETS, ids=[k for k, _ in SECRETS])
def test_each_secret_is_redacted_and_the_words_around_it_kept(kind, secret):
    """The secret goes, whole; what the person wrote around it stays."""
    out = redact(f"Note for later: {secret} (do not share).")
    assert not leaked(secret_part(kind, secret), out), out
    assert out.startswith("Note for later: ") and out.endswith("(do not share).")
    assert PLACEHOLDER in out


def test_fewer_than_one_ordinary_chat_turn_in_a_hundred_is_redacted():
    """Redaction leaves ordinary conversation alone: every LoCoMo turn is checked."""
    if not LOCOMO.is_file():
        pytest.fail(f"the LoCoMo data set is missing at {LOCOMO} (../shared/data)")
    turns = locomo_turns(LOCOMO)
    wrong = wrongly_redacted(turns)
    assert len(turns) > 5000 and len(wrong) < len(turns) / 100, wrong[:5]


def test_no_secret_survives_a_message_an_import_and_a_card(isolated_env):
    """The corpus sent as memories (the chat's write path), as a memory import and inside an
    imported card: afterwards no secret is in the memory folder's files, the persona files,
    an export, a listing or anything printed."""
    outputs = []

    def cli(*args):
        done = run_cli(*args)
        assert done.returncode == 0, done.stderr
        outputs.extend([done.stdout, done.stderr])
        return done

    scope = ("--user", "ana", "--persona", PERSONA)
    cli("memory", "add", *scope, *[f"My {kind} is {secret}" for kind, secret in SECRETS])
    exported = {"role": "user", "kind": "turn", "created_at": 1.7e9, "session": "old",
                "user": "bob", "persona": PERSONA}  # fmt: skip
    lines = [
        json.dumps(exported | {"id": f"m{n}", "text": f"Backup of my {k}: {s}"})
        for n, (k, s) in enumerate(SECRETS)
    ]
    (isolated_env / "old.jsonl").write_text("\n".join(lines) + "\n")
    cli("memory", "import", *scope, str(isolated_env / "old.jsonl"))
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Keyholder", "description": " ".join(s for _, s in SECRETS[:15]),
        "personality": "careful", "scenario": "", "first_mes": "Hello.",
        "mes_example": " ".join(s for _, s in SECRETS[15:])}}  # fmt: skip
    (isolated_env / "card.json").write_text(json.dumps(card))
    cli("persona", "import", str(isolated_env / "card.json"))
    cli("memory", "export", *scope)
    cli("memory", "list", *scope, "--json")
    cli("persona", "show", "keyholder")
    stored = [p.read_bytes().decode("utf-8", "replace") for p in isolated_env.rglob("*")
              if p.is_file() and p.suffix not in (".jsonl",) and p.name != "card.json"]  # fmt: skip
    turns = [m for m in json.loads(outputs[-4]) if m["kind"] == "turn"]
    assert len(turns) == 2 * len(SECRETS)  # every memory was kept
    for kind, secret in SECRETS:
        part = secret_part(kind, secret)
        assert not any(leaked(part, text) for text in outputs), f"{kind} printed"
        assert not any(leaked(part, text) for text in stored), f"{kind} stored"
