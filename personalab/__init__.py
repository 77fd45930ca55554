"""PersonaLab: show and study how personalization changes what an LLM says.

The public names below load on first use (PEP 562), so `import personalab` and the command
line's start stay cheap; `from personalab import Engine` works as before.
"""

from __future__ import annotations

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
    "OpenAIBackend": "models.remote",
    "backend_from_settings": "compose",
    "Check": "replies.checks",
    "CheckReport": "replies.checks",
    "CheckResult": "replies.checks",
    "Judge": "replies.judge",
    "Verdict": "replies.judge",
    "Embedder": "embedding.embedder",
    "Engine": "engine",
    "Reply": "reply",
    "ReplyStats": "reply",
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
__all__ = sorted(_WHERE, key=str.lower)
__getattr__, __dir__ = exports(__name__, _WHERE)
