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


def test_openai_variables_and_secrets_file(tmp_path):
    """OPENAI_* variables fill the OpenAI fields; secrets.toml sits below the environment."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "from-file"\n[personalab]\nopenai_model = "llama3.2"\n')
    s = Settings.load({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}, secrets_path=secrets)
    assert s.openai_api_key == "from-file"
    assert s.openai_model == "llama3.2"
    assert s.openai_base_url == "http://127.0.0.1:11434/v1"
    s = Settings.load({"OPENAI_API_KEY": "from-env"}, secrets_path=secrets)
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
