"""Token steering for llama.cpp: ban the token sequences that spell words a reply must avoid."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import numpy as np

MAX_FORMS = 4000  # surface forms steered away from at once (a vegan persona needs ~2,500)


def spellings(word: str) -> set[str]:
    """How a word shows up in generated text: with or without a leading space, capitalised."""
    forms = {word, word.lower(), word[:1].upper() + word[1:]}
    return forms | {" " + f for f in forms}


class SequenceBan:
    """A llama.cpp logits processor: whenever the text so far ends in all but the last token of
    a banned word's tokenization, that last token is ruled out; "chick" + "en" is blocked while
    "chick" + "pea" stays possible.

    A spelling with a leading space starts a word by itself, so it is ruled out everywhere. One
    without ("Ham" after a newline, "ham" after a bracket) is ruled out only where a word
    starts: its tokens are also pieces of other words ("thon" in "Python", "ente" in "gente",
    "ei" in "zwei"), and banning them everywhere garbles the reply and cuts it short. With no
    token_text, every position counts as a word start.
    """

    def __init__(
        self,
        tokenize: Callable[[str], list[int]],
        words: Iterable[str],
        token_text: Callable[[int], str] | None = None,
    ):
        self.next_banned: dict[tuple[int, ...], set[int]] = {}  # anywhere
        self.start_banned: dict[tuple[int, ...], set[int]] = {}  # only where a word starts
        self.token_text = token_text
        self.longest = 0
        for word in list(dict.fromkeys(words))[:MAX_FORMS]:
            for form in spellings(word):
                tokens = tuple(tokenize(form))
                if not tokens:
                    continue
                where = self.start_banned if token_text and form[0] != " " else self.next_banned
                where.setdefault(tokens[:-1], set()).add(tokens[-1])
                self.longest = max(self.longest, len(tokens))
        self._always = np.array(sorted(self.next_banned.get((), ())), dtype=np.int64)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self._always.size:
            scores[self._always] = -np.inf
        tail = tuple(int(t) for t in input_ids[-self.longest :]) if self.longest else ()
        for k in range(min(self.longest, len(tail) + 1)):  # k: the prefix's length
            prefix = tail[len(tail) - k :]
            if k and (banned := self.next_banned.get(prefix)):
                scores[list(banned)] = -np.inf
            if (banned := self.start_banned.get(prefix)) and self._word_starts(tail, k):
                scores[list(banned)] = -np.inf
        return scores

    def _word_starts(self, tail: tuple[int, ...], k: int) -> bool:
        """Whether a word starts k tokens back: the token before it ends in no letter or digit."""
        if k >= len(tail):
            return True
        before = self.token_text(tail[len(tail) - k - 1])
        return not before or not before[-1].isalnum()


@functools.lru_cache(maxsize=16)
def sequence_ban(
    tokenize: Callable[[str], list[int]],
    words: tuple[str, ...],
    token_text: Callable[[int], str] | None = None,
) -> SequenceBan:
    """A SequenceBan for words, built once per tokenizer and word list."""
    return SequenceBan(tokenize, words, token_text)
