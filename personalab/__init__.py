"""PersonaLab: show and study how personalization changes what an LLM says.

The public names below load on first use (PEP 562), so `import personalab` and the command
line's start stay cheap; `from personalab import Engine` works as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from personalab.lazy import exports

_WHERE = {  # public name: the module (under personalab) that defines it
    "BackendError": "errors",
    "MemoryStoreError": "errors",
    "PersonaError": "errors",
    "PersonaLabError": "errors",
    "SettingsError": "errors",
    "Settings": "settings",
    "Memory": "records",
    "NewMemory": "records",
    "Revision": "records",
    "ScoredMemory": "records",
    "ChatBackend": "models.backends",
    "ChatMessage": "models.backends",
    "EmbeddedBackend": "models.backends",
    "GenerationOptions": "models.backends",
    "OpenAIBackend": "models.backends",
    "backend_from_settings": "compose",
    "Check": "replies.checks",
    "CheckReport": "replies.checks",
    "CheckResult": "replies.checks",
    "Judge": "replies.judge",
    "Verdict": "replies.judge",
    "Embedder": "embedding.embedder",
    "Engine": "engine",
    "Reply": "engine",
    "ReplyStats": "engine",
    "FactBook": "facts.book",
    "FactChange": "facts.book",
    "MemoryStore": "memory.store",
    "open_client": "memory.store",
    "Persona": "personas.model",
    "PersonaLibrary": "personas.library",
    "ColumnKind": "prompts",
    "PromptPlan": "prompts",
    "Recall": "recall.ranking",
    "RecallPolicy": "recall.ranking",
}
__all__ = [
    "backend_from_settings",
    "BackendError",
    "ChatBackend",
    "ChatMessage",
    "Check",
    "CheckReport",
    "CheckResult",
    "ColumnKind",
    "EmbeddedBackend",
    "Embedder",
    "Engine",
    "FactBook",
    "FactChange",
    "GenerationOptions",
    "Judge",
    "Memory",
    "MemoryStore",
    "MemoryStoreError",
    "NewMemory",
    "open_client",
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
]


__getattr__, __dir__ = exports(__name__, _WHERE)


if TYPE_CHECKING:  # for type checkers and editors: the same names, eagerly
    from personalab.compose import backend_from_settings
    from personalab.embedding.embedder import Embedder
    from personalab.engine import Engine, Reply, ReplyStats
    from personalab.errors import (
        BackendError,
        MemoryStoreError,
        PersonaError,
        PersonaLabError,
        SettingsError,
    )
    from personalab.facts.book import FactBook, FactChange
    from personalab.memory.store import MemoryStore, open_client
    from personalab.models.backends import (
        ChatBackend,
        ChatMessage,
        EmbeddedBackend,
        GenerationOptions,
        OpenAIBackend,
    )
    from personalab.personas.library import PersonaLibrary
    from personalab.personas.model import Persona
    from personalab.prompts import ColumnKind, PromptPlan
    from personalab.recall.ranking import Recall, RecallPolicy
    from personalab.records import Memory, NewMemory, Revision, ScoredMemory
    from personalab.replies.checks import Check, CheckReport, CheckResult
    from personalab.replies.judge import Judge, Verdict
    from personalab.settings import Settings
