"""Offline model packs in use: each installed pack answers, the sidebar shows what it is, and
switching model keeps the chat."""

import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from personalab import ChatMessage, GenerationOptions, Settings
from personalab.compose import backend_from_settings
from personalab.models import packs
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow  # real models

INSTALLED = [pack.name for pack, _ in packs.installed()]


@pytest.mark.parametrize("name", INSTALLED)
def test_every_installed_pack_streams_a_reply(name):
    """Each installed pack loads (after its hash check) and streams a non-empty reply."""
    settings = Settings.load(secrets_path=None).replace(model=name, prefix_cache_mb=0)
    backend = backend_from_settings(settings)
    ask = [ChatMessage("user", "Count from one to ten in words.")]
    chunks = list(backend.stream(ask, GenerationOptions(max_tokens=16, temperature=0)))
    assert "".join(chunks).strip() and backend.last_prompt.evaluated > 0
    assert packs.PACKS[name].title in backend.name


def test_the_default_pack_is_installed_by_the_setup(monkeypatch):
    """`make test` and `make run` install the pack the settings name by default."""
    monkeypatch.delenv("PERSONALAB_MODEL", raising=False)
    assert Settings.load(secrets_path=None).model in INSTALLED


def test_models_list_json_names_size_license_source_and_hash():
    """`models list --json` gives every pack with what a user needs to trust it."""
    out = run_cli("models", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert set(rows) == set(packs.PACKS)
    for name, row in rows.items():
        pack = packs.PACKS[name]
        assert (row["bytes"], row["sha256"], row["license"]) == (
            pack.size,
            pack.sha256,
            pack.license,
        )
        assert row["source"] == pack.source and row["installed"] == (name in INSTALLED)


def test_an_unknown_pack_is_refused_with_the_list():
    """Asking for a pack that does not exist names the packs there are."""
    env = {**os.environ, "PERSONALAB_MODEL": "gpt-17"}
    out = run_cli("chat", "--persona", "lena-vegan-marathoner", "hi", env=env)
    assert out.returncode == 1 and "no model pack 'gpt-17'" in out.stderr
    assert all(name in out.stderr for name in packs.PACKS)


def test_the_sidebar_shows_each_installed_pack_and_what_it_is():
    """The offline model list holds the installed packs; the chosen one's size, license,
    source and hash are shown."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    choice = at.sidebar.selectbox(key="model")
    assert {packs.PACKS[name].title for name in INSTALLED} <= set(choice.options)
    pack = packs.PACKS[choice.value]
    caption = " ".join(c.value for c in at.sidebar.caption)
    for shown in (pack.size_label, pack.license, pack.source, pack.sha256[:16]):
        assert shown in caption


@pytest.mark.skipif(len(INSTALLED) < 2, reason="needs two installed packs")
def test_switching_model_keeps_the_chat():
    """A chat answered by one pack stays on screen after switching to another, which answers
    the next message."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.selectbox(key="persona_id").set_value("lena-vegan-marathoner").run()
    at.sidebar.selectbox(key="model").set_value(INSTALLED[0]).run()
    at.chat_input(key="chat_message").set_value("I train every morning at 6.").run()
    at.sidebar.selectbox(key="model").set_value(INSTALLED[1]).run()
    assert not at.exception
    said = [m.text[0].value for m in at.chat_message if m.name == "user"]
    assert said == ["I train every morning at 6."]
    at.chat_input(key="chat_message").set_value("What time do I train?").run()
    replies = [m for m in at.chat_message if m.name == "assistant"]
    assert len(replies) == 2
    captions = [c.value for m in replies for c in m.caption]
    assert any(packs.PACKS[INSTALLED[1]].title in c for c in captions)
