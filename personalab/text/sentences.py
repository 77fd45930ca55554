"""Sentences of a text as written: the one splitter for facts, checks, attribution, the guard."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]")  # a letter or digit, in any script
_END = r"(?<=[.!?])\s+"  # after . ! ? and white space; "3.5 km" and "e.g.x" stay whole


def split_sentences(text: str, *, lines: bool = True, semicolons: bool = False) -> list[str]:
    """The sentences of text, stripped; also split at line breaks (list items) and, if asked,
    at semicolons. Parts with no letter or digit are dropped."""
    pattern = _END + (r"|\n+" if lines else "") + (r"|;\s+" if semicolons else "")
    return [p.strip() for p in re.split(pattern, text) if _WORD.search(p)]


def ends_sentence(chunk: str) -> bool:
    """Whether a streamed chunk closes a sentence or a line."""
    return bool(re.search(r"[.!?\n]", chunk))
