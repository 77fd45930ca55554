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
    a banned word's tokenization, that last token is ruled out. A one-token word is ruled out
    everywhere; "chick" + "en" is blocked while "chick" + "pea" stays possible."""

    def __init__(self, tokenize: Callable[[str], list[int]], words: Iterable[str]):
        self.next_banned: dict[tuple[int, ...], set[int]] = {}
        self.longest = 0
        for word in list(dict.fromkeys(words))[:MAX_FORMS]:
            for form in spellings(word):
                tokens = tuple(tokenize(form))
                if not tokens:
                    continue
                self.next_banned.setdefault(tokens[:-1], set()).add(tokens[-1])
                self.longest = max(self.longest, len(tokens))
        self._always = np.array(sorted(self.next_banned.get((), ())), dtype=np.int64)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self._always.size:
            scores[self._always] = -np.inf
        tail = tuple(int(t) for t in input_ids[-(self.longest - 1) :]) if self.longest > 1 else ()
        for k in range(1, len(tail) + 1):
            banned = self.next_banned.get(tail[-k:])
            if banned:
                scores[list(banned)] = -np.inf
        return scores


@functools.lru_cache(maxsize=16)
def sequence_ban(tokenize: Callable[[str], list[int]], words: tuple[str, ...]) -> SequenceBan:
    """A SequenceBan for words, built once per tokenizer and word list."""
    return SequenceBan(tokenize, words)
