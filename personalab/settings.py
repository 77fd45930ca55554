"""Settings: one object built from PERSONALAB_* environment variables, secrets.toml and defaults."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from personalab.errors import SettingsError

ENV_PREFIX = "PERSONALAB_"
BACKENDS = ("offline", "openai")
FACT_EXTRACTION = ("auto", "rules", "llm")
GUARD = ("auto", "on", "off")
PREFIX_CACHE_MB = 512  # the in-process model's cache of recent prompt states


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Each field can be set as PERSONALAB_<FIELD NAME IN CAPITALS>."""

    user: str = "local"
    memory_dir: Path = Path("memory")
    # A Chroma server shared by several processes or machines (instead of memory_dir).
    chroma_url: str = ""
    chroma_token: str = field(default="", repr=False)
    personas_dir: Path = Path("personas")
    # Embedding model: empty for the bundled all-MiniLM-L6-v2, else a sentence-transformers path.
    embedder: str = ""
    backend: str = "offline"
    # The offline model pack (`python -m personalab models list`); chosen by measurement.
    model: str = "qwen2.5-coder-0.5b"
    # Any GGUF file for the offline backend instead of a pack.
    gguf_path: str = ""
    models_dir: str = ""  # one more folder to look for GGUF files in (besides the usual ones)
    # 4096: with the facts a stable prefix, a window that holds every fact of a long history is
    # paid for once per persona (`bench budget`); the packs' models take 8k (SmolLM2) or 32k.
    n_ctx: int = 4096
    n_threads: int = 0  # 0: all cores
    # KV states of recent prompts kept by the in-process model, so a prompt that starts like an
    # earlier one (the same persona and facts) evaluates only the new part; 0 turns it off.
    prefix_cache_mb: int = PREFIX_CACHE_MB
    # After a reply, while the model is idle, evaluate the start of the conversation's next
    # prompt (profile, facts, recent turns) into that cache: the next message pays for itself.
    prewarm: bool = True
    openai_api_key: str = field(default="", repr=False)
    openai_base_url: str = ""
    openai_model: str = "gpt-4o-mini"
    # Requests the server decodes at once (llama.cpp's --parallel); more wait in the app's own
    # line, first come first served, each told its place. 0: send every request at once.
    server_slots: int = 0
    # An optional LLM judge that rates each reply after it has streamed: an offline pack's name
    # (qwen2.5-coder-1.5b runs it on this machine) or a model on an OpenAI-compatible server.
    judge_model: str = ""
    judge_base_url: str = ""
    judge_api_key: str = field(default="", repr=False)
    timeout_s: float = 60.0
    max_retries: int = 2
    max_tokens: int = 256
    temperature: float = 0.7
    repeat_penalty: float = 1.1  # llama.cpp only: stops small models from looping
    memory_k: int = 4  # episodes (past turns) recalled per reply
    memory_token_budget: int = 300  # most prompt tokens spent on episodes
    fact_token_budget: int = 0  # most prompt tokens spent on facts; 0: half of what the model has
    recent_turns: int = 4
    seed_personas: bool = True  # load a persona's seed history the first time a user opens it
    # Restate the persona's hard constraints after the user's message (small models follow a
    # rule next to the question far more often than one in the system prompt).
    constraint_reminder: bool = True
    recall_assistant_turns: bool = False  # recall the assistant's own past replies on their own
    # How facts are found in user turns: rules (offline, instant), llm (the chat model, after
    # the reply), or auto: llm unless the model is the bundled 135M one.
    fact_extraction: str = "auto"
    # The offline pack that extracts facts when that is llm (empty: the reply's own model).
    fact_model: str = ""
    # Where a fact matters: after a reply, the fact model writes a few situations for each new
    # fact, and recall matches messages against them too. auto: when that model runs on this
    # machine and is not the bundled 135M one; off: neither written nor used.
    fact_situations: str = "auto"
    # The guard re-asks the personalized reply when it names something the persona rules out:
    # auto = on for the bundled 135M model, off for others.
    guard: str = "auto"
    guard_attempts: int = 3
    guard_time_s: float = 30.0

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (values are checked again)."""
        return dataclasses.replace(self, **changes)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SettingsError(
                f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}"
            )
        if self.guard not in GUARD:
            raise SettingsError(f"guard must be one of {', '.join(GUARD)}, not {self.guard!r}")
        if self.fact_situations not in GUARD:  # the same three: auto, on, off
            raise SettingsError(
                f"fact_situations must be one of {', '.join(GUARD)}, not {self.fact_situations!r}"
            )
        if self.fact_extraction not in FACT_EXTRACTION:
            raise SettingsError(
                f"fact_extraction must be one of {', '.join(FACT_EXTRACTION)}, "
                f"not {self.fact_extraction!r}"
            )
        if not self.user.strip():
            raise SettingsError("user must not be empty")
        for name in ("n_ctx", "max_tokens", "memory_token_budget"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be positive")
        if self.fact_token_budget < 0:
            raise SettingsError("fact_token_budget must be 0 (automatic) or positive")

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        secrets_path: Path | None = Path(".streamlit/secrets.toml"),
    ) -> Settings:
        """Defaults, overridden by secrets.toml, overridden by the environment."""
        environ = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        if secrets_path is not None and secrets_path.is_file():
            try:
                secrets = tomllib.loads(secrets_path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"cannot read {secrets_path}: {exc}") from exc
            raw.update({k.lower(): v for k, v in secrets.items() if not isinstance(v, dict)})
            raw.update({k.lower(): v for k, v in secrets.get("personalab", {}).items()})
        # The openai client's own variables are honoured too, below PERSONALAB_* ones.
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            if environ.get(name):
                raw[name.lower()] = environ[name]
        for key, value in environ.items():
            if key.startswith(ENV_PREFIX):
                raw[key[len(ENV_PREFIX) :].lower()] = value
        return cls._from_raw(raw)

    @classmethod
    def _from_raw(cls, raw: Mapping[str, object]) -> Settings:
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            kind = type(f.default)
            try:
                if isinstance(value, kind):
                    kwargs[f.name] = value
                elif kind is bool:
                    kwargs[f.name] = _boolean(value)
                else:
                    kwargs[f.name] = kind(value)
            except (TypeError, ValueError) as exc:
                raise SettingsError(
                    f"{ENV_PREFIX}{f.name.upper()}={value!r} is not a valid {kind.__name__}"
                ) from exc
        return cls(**kwargs)


def _boolean(value: object) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")
