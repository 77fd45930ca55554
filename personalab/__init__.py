"""PersonaLab: show and study how personalization changes what an LLM says."""

from personalab.backends import (
    ChatBackend,
    ChatMessage,
    EmbeddedBackend,
    GenerationOptions,
    OpenAIBackend,
    backend_from_settings,
)
from personalab.embedding import Embedder
from personalab.engine import Engine, Reply, ReplyStats
from personalab.errors import (
    BackendError,
    MemoryStoreError,
    PersonaError,
    PersonaLabError,
    SettingsError,
)
from personalab.memory import Memory, MemoryStore, NewMemory, ScoredMemory, open_client
from personalab.personas import Persona, PersonaLibrary
from personalab.prompts import ColumnKind, PromptPlan
from personalab.settings import Settings

__all__ = [
    "BackendError",
    "ChatBackend",
    "ChatMessage",
    "ColumnKind",
    "Embedder",
    "EmbeddedBackend",
    "Engine",
    "GenerationOptions",
    "Memory",
    "MemoryStore",
    "MemoryStoreError",
    "NewMemory",
    "OpenAIBackend",
    "Persona",
    "PersonaError",
    "PersonaLabError",
    "PersonaLibrary",
    "PromptPlan",
    "Reply",
    "ReplyStats",
    "ScoredMemory",
    "Settings",
    "SettingsError",
    "backend_from_settings",
    "open_client",
]
