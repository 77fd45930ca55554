"""Settings: one object from PERSONALAB_* variables, secrets.toml and defaults."""

from pathlib import Path

import pytest

from personalab import Settings, SettingsError


def test_environment_overrides_every_kind_of_field():
    """PERSONALAB_* variables set paths, numbers and text, converted to the field's type."""
    s = Settings.load(
        {
            "PERSONALAB_MEMORY_DIR": "/data/mem",
            "PERSONALAB_MEMORY_K": "7",
            "PERSONALAB_TEMPERATURE": "0.1",
            "PERSONALAB_BACKEND": "openai",
        },
        secrets_path=None,
    )
    assert s.memory_dir == Path("/data/mem")
    assert (s.memory_k, s.temperature, s.backend) == (7, 0.1, "openai")


def secrets_file(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('OPENAI_API_KEY = "from-file"\n[personalab]\nopenai_model = "llama3.2"\n')
    return path


def test_openai_variables_and_the_secrets_file_fill_the_openai_fields(tmp_path):
    """OPENAI_BASE_URL and secrets.toml (top level and [personalab]) set the OpenAI fields."""
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}
    s = Settings.load(env, secrets_path=secrets_file(tmp_path))
    assert (s.openai_api_key, s.openai_model) == ("from-file", "llama3.2")
    assert s.openai_base_url == "http://127.0.0.1:11434/v1"


def test_the_environment_wins_over_the_secrets_file(tmp_path):
    """A value in the environment overrides the same one in secrets.toml."""
    s = Settings.load({"OPENAI_API_KEY": "from-env"}, secrets_path=secrets_file(tmp_path))
    assert s.openai_api_key == "from-env"


def test_api_key_never_appears_in_repr():
    """Printing or logging settings never shows the key."""
    s = Settings.load({"OPENAI_API_KEY": "sk-very-secret-value"}, secrets_path=None)
    assert "sk-very-secret-value" not in repr(s)


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"PERSONALAB_MEMORY_K": "many"}, "PERSONALAB_MEMORY_K"),
        ({"PERSONALAB_BACKEND": "gpu"}, "backend must be one of"),
        ({"PERSONALAB_MAX_TOKENS": "0"}, "max_tokens must be positive"),
    ],
)
def test_bad_values_name_the_setting(env, fragment):
    """A bad value fails with a message naming the setting."""
    with pytest.raises(SettingsError, match=fragment):
        Settings.load(env, secrets_path=None)
