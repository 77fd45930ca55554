"""Token steering: banned words' token sequences are ruled out, their prefixes stay possible."""

import numpy as np

from personalab.models.steering import MAX_FORMS, SequenceBan, spellings

VOCAB = ["<s>", " chick", "en", "pea", " beef", " rice", "Chick", " Beef", " tofu",
         "thon", "Thon", " thon", " Thon", "Py", "\n", "(", "<unk>"]  # fmt: skip


def tokenize(text: str) -> list[int]:
    """A toy tokenizer: the longest vocabulary entry first, left to right."""
    ids, rest = [], text
    while rest:
        best = max((t for t in VOCAB if rest.startswith(t)), key=len, default=None)
        if best is None:
            return ids + [-1]  # an unknown piece: not in this vocabulary (<unk>, the last)
        ids.append(VOCAB.index(best))
        rest = rest[len(best) :]
    return ids


def banned_after(ban: SequenceBan, *previous: str) -> set[str]:
    """The vocabulary entries ruled out after the given tokens."""
    ids = np.array([VOCAB.index(p) for p in previous] or [0], dtype=np.int64)
    scores = ban(ids, np.zeros(len(VOCAB)))
    return {VOCAB[i] for i in np.flatnonzero(np.isneginf(scores))}


def test_a_one_token_word_is_ruled_out_everywhere():
    """beef is one token: it can never be chosen, after anything."""
    ban = SequenceBan(tokenize, ["beef"])
    assert " beef" in banned_after(ban, " rice") and " Beef" in banned_after(ban, "<s>")


def test_a_multi_token_word_is_blocked_only_at_its_last_token():
    """After " chick", "en" (chicken) is ruled out but "pea" (chickpea) is not."""
    ban = SequenceBan(tokenize, ["chicken"])
    after = banned_after(ban, " chick")
    assert "en" in after and "pea" not in after
    assert "en" not in banned_after(ban, " rice")  # "en" alone elsewhere is fine


def test_capitalised_and_spaced_spellings_are_covered():
    """A word is banned with and without a leading space, capitalised or not."""
    assert {"chicken", " chicken", "Chicken", " Chicken"} <= spellings("chicken")
    ban = SequenceBan(tokenize, ["chicken"])
    assert "en" in banned_after(ban, "Chick")


def test_at_most_max_forms_words_are_banned():
    """A longer word list is cut at MAX_FORMS, so building the ban stays bounded."""
    words = [f"w{i}" for i in range(MAX_FORMS + 50)]
    seen: list[str] = []
    SequenceBan(lambda t: seen.append(t.strip()) or [1], words)
    assert len({s.lower() for s in seen}) == MAX_FORMS


def test_a_word_without_its_space_is_ruled_out_only_where_a_word_starts():
    """ "thon" (tuna) is banned after a newline or a bracket, where a word starts, but not after
    "Py": it is also a piece of "Python". Its spaced form is banned everywhere."""
    ban = SequenceBan(tokenize, ["thon"], token_text=lambda t: VOCAB[t])
    assert {"thon", "Thon", " thon"} <= banned_after(ban, "\n")
    assert "thon" in banned_after(ban, "(")
    after_py = banned_after(ban, "Py")
    assert "thon" not in after_py and "Thon" not in after_py and " thon" in after_py
    everywhere = SequenceBan(tokenize, ["thon"])  # without token texts: as before
    assert "thon" in banned_after(everywhere, "Py")
