"""A chat backend for OpenAI or any OpenAI-compatible server, with fix-it errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from urllib.parse import urlparse

from personalab.errors import BackendError
from personalab.models import turns
from personalab.models.backends import ChatMessage, GenerationOptions
from personalab.models.odds import NoOdds, normalised
from personalab.text.redaction import redact

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


class OpenAIBackend:
    """OpenAI or any OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp server)."""

    bundled = False
    steers = False  # logit_bias needs the server's own token ids, which few servers expose
    concurrent = True  # a server takes several requests at once (it may still queue them)

    def __init__(
        self,
        model: str,
        api_key: str = "",
        base_url: str = "",
        timeout_s: float = 60.0,
        max_retries: int = 2,
        context_window: int = 8192,
        slots: int = 0,
    ):
        import openai

        if not model.strip():
            raise BackendError("name the model to use (for example gpt-4o-mini or llama3.2)")
        self.is_local = (urlparse(base_url).hostname or "") in LOCAL_HOSTS if base_url else False
        if not api_key and not base_url:
            raise BackendError(
                "no API key: set OPENAI_API_KEY (or enter one in the sidebar), give the base URL "
                "of a local server, or pick the offline model"
            )
        self.name = f"{model} @ {base_url or 'api.openai.com'}"
        self.model = model
        self.base_url = base_url or "https://api.openai.com/v1"
        self.context_window = context_window
        # with slots: one line per server for every session, each waiter told its place
        self.turns = turns.for_server(self.base_url, slots) if slots > 0 else None
        self._client = openai.OpenAI(
            # Local servers ignore the key, but the client insists on one.
            api_key=api_key or "not-needed",
            base_url=base_url or None,
            timeout=timeout_s,
            max_retries=max_retries,
        )

    def stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        if self.turns is None:
            yield from self._stream(messages, options)
            return
        with self.turns.turn():
            yield from self._stream(messages, options)

    def _stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        import openai

        opened, chunks = False, 0
        try:
            extra = {"response_format": options.response_format} if options.response_format else {}
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stream=True,
                **extra,
            )
            opened = True
            try:
                for chunk in response:
                    chunks += 1
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            finally:
                response.close()  # also when the reader stops early (the guard, a closed tab)
        except Exception as exc:
            if opened:  # the server had started answering: the connection broke mid-reply
                raise BackendError(
                    f"the reply from {self.base_url} was cut off midway; send the message again"
                ) from exc
            if isinstance(exc, openai.APIError):
                raise self._explain(exc) from exc
            raise
        if not chunks:  # a 200 whose body held no stream events: an HTML page, plain JSON…
            raise BackendError(
                f"the server at {self.base_url} answered, but not with a chat completion "
                "stream: check that the URL is an OpenAI-compatible endpoint ending in /v1"
            )

    def first_token_odds(self, messages: list[ChatMessage], choices: tuple[str, ...]) -> dict:
        """Each choice's probability as the first token of the answer (any casing), out of the
        choices alone, from the server's top log-probabilities; NoOdds when it gives none."""
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=1,
                temperature=0,
                logprobs=True,
                top_logprobs=20,
            )
        except openai.BadRequestError as exc:  # a server that does not take `logprobs`
            raise NoOdds(f"{self.base_url} refused to give token probabilities") from exc
        except openai.APIError as exc:
            raise self._explain(exc) from exc
        try:
            top = response.choices[0].logprobs.content[0].top_logprobs
        except (AttributeError, IndexError, TypeError) as exc:
            raise NoOdds(f"{self.base_url} gives no token probabilities") from exc
        mass = dict.fromkeys(choices, 0.0)
        for entry in top:
            said = entry.token.strip().lower()
            for choice in choices:
                if said == choice.lower():
                    mass[choice] += math.exp(entry.logprob)
        return normalised(mass)

    def _explain(self, exc: Exception) -> BackendError:
        import openai

        where = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(f"{where} did not answer in time; try again or raise the timeout")
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(
                f"cannot reach {where}: is the server running and the base URL right? "
                "Or pick the offline model"
            )
        if isinstance(exc, openai.AuthenticationError):
            return BackendError(f"{where} rejected the API key (401): check OPENAI_API_KEY")
        if isinstance(exc, openai.PermissionDeniedError):
            return BackendError(f"{where} refused access (403): check the key's permissions")
        if isinstance(exc, openai.NotFoundError):
            return BackendError(f"{where} has no model {self.model!r} (404): check the model name")
        if isinstance(exc, openai.RateLimitError):
            return BackendError(
                f"{where} is rate limiting or out of quota (429), still after retries; "
                "wait a moment and send again"
            )
        if isinstance(exc, openai.APIStatusError):
            return BackendError(
                f"{where} answered {exc.status_code}: {redact(exc.message)}", exc.status_code
            )
        return BackendError(f"the reply from {where} failed: {redact(str(exc))}")
