"""A verdict read from the model's first answer token: llama.cpp in process and behind its
own server, and a server that gives no token probabilities."""

import pytest

from personalab import BackendError, ChatMessage, GenerationOptions, OpenAIBackend
from tests.helpers import FaultServer

ASK = [
    ChatMessage("system", "Answer with one word."),
    ChatMessage("user", "Is water wet? Answer yes or no."),
]
FIRST_WORD = GenerationOptions(max_tokens=1, temperature=0)


def _odds_follow_what_the_model_says(backend):
    said = "".join(backend.stream(ASK, FIRST_WORD)).strip()
    assert said, "the model's greedy first token was blank"
    odds = backend.first_token_odds(ASK, (said, "zebra"))
    assert odds[said] + odds["zebra"] == pytest.approx(1.0)
    # The token the model itself chose outweighs an answer it would never start with: the odds
    # are read at the answer's first position, from the right token ids.
    assert odds[said] > 0.9 > odds["zebra"]


@pytest.mark.slow
def test_the_odds_in_process_follow_what_the_model_says(offline_backend):
    """In process: the choice the model would write first holds the probability."""
    _odds_follow_what_the_model_says(offline_backend)


@pytest.mark.slow
def test_the_odds_from_a_server_follow_what_the_model_says(llama_server):
    """Behind llama.cpp's server (its top log-probabilities): the same, and choices the model
    gives nothing to are an error, not a verdict."""
    backend = OpenAIBackend("smollm2", base_url=llama_server, timeout_s=120)
    _odds_follow_what_the_model_says(backend)
    with pytest.raises(BackendError, match="no probability to any of zebra, quokka"):
        backend.first_token_odds(ASK, ("zebra", "quokka"))


def test_a_server_that_gives_no_token_probabilities_says_so():
    """A server that answers without log-probabilities: a clear error naming it."""
    answer = {"id": "1", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "length",
                           "message": {"role": "assistant", "content": "yes"}}]}  # fmt: skip
    server = FaultServer(200, answer)
    try:
        backend = OpenAIBackend("m", api_key="k", base_url=server.url, max_retries=0)
        with pytest.raises(BackendError, match=f"{server.url} gives no token probabilities"):
            backend.first_token_odds(ASK, ("yes", "no"))
    finally:
        server.close()
