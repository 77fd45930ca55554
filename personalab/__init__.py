"""PersonaLab: show and study how personalization changes what an LLM says."""

from personalab.backends import (
    ChatBackend,
    ChatMessage,
    EmbeddedBackend,
    GenerationOptions,
    OpenAIBackend,
    backend_from_settings,
)
from personalab.checks import Check, CheckReport, CheckResult
from personalab.embedding import Embedder
from personalab.engine import Engine, Reply, ReplyStats
from personalab.errors import (
    BackendError,
    MemoryStoreError,
    PersonaError,
    PersonaLabError,
    SettingsError,
)
from personalab.factbook import FactBook, FactChange
from personalab.judge import Judge, Verdict
from personalab.library import PersonaLibrary
from personalab.memory import MemoryStore, open_client
from personalab.personas import Persona
from personalab.prompts import ColumnKind, PromptPlan
from personalab.records import Memory, NewMemory, Revision, ScoredMemory
from personalab.retrieval import Recall, RecallPolicy
from personalab.settings import Settings

__all__ = [
    "BackendError",
    "Check",
    "CheckReport",
    "CheckResult",
    "ChatBackend",
    "ChatMessage",
    "ColumnKind",
    "Embedder",
    "EmbeddedBackend",
    "Engine",
    "FactBook",
    "FactChange",
    "GenerationOptions",
    "Judge",
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
    "Recall",
    "RecallPolicy",
    "Reply",
    "ReplyStats",
    "Revision",
    "ScoredMemory",
    "Settings",
    "SettingsError",
    "Verdict",
    "backend_from_settings",
    "open_client",
]
