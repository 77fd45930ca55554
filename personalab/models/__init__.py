"""Chat models: llama.cpp in process or an OpenAI-compatible server, token steering, and
discovery of the models this machine already has."""

from personalab.lazy import exports

_WHERE = {
    "ChatBackend": "backends",
    "ChatMessage": "backends",
    "EmbeddedBackend": "backends",
    "GenerationOptions": "backends",
    "OpenAIBackend": "remote",
}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
