"""Chat models: llama.cpp in process or an OpenAI-compatible server, token steering, and
discovery of the models this machine already has."""

from personalab.lazy import exports

__all__ = ["ChatBackend", "ChatMessage", "EmbeddedBackend", "GenerationOptions", "OpenAIBackend"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "ChatBackend": "backends",
        "ChatMessage": "backends",
        "EmbeddedBackend": "backends",
        "GenerationOptions": "backends",
        "OpenAIBackend": "backends",
    },
)
