"""Forbidden terms: groups with inflections, translations, exceptions; negation-aware matching."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

GROUPS_FILE = Path(__file__).parent / "term_groups.yaml"
_W = r"[^\W_]"  # a letter or digit, in any script
ANIMAL = {"meat", "poultry", "pork", "beef", "fish", "shellfish", "seafood", "dairy", "egg"}
ANIMAL |= {"honey", "gelatin"}
PLANT_MODIFIERS = (
    "vegan|vegetarian|veggie|plant-based|plant based|meat-free|meatless|mock|faux|imitation|"
    "dairy-free|egg-free|soy|tofu|seitan|tempeh|jackfruit|oat|almond|coconut|lentil|bean"
)
# Cues that negate what follows them in the same clause ("no meat, fish or eggs").
_NEGATION = re.compile(
    r"\b(?:no|not|without|never|avoid(?:ing)?|skip(?:ping)?|leave out|leaving out|free of|"
    r"minus|hold the|excluding|except(?: for)?|cut out|steer clear of|stay away from|"
    r"(?:do not|don't|doesn't|won't|shouldn't|never) (?:add|use|eat|include|need|buy|order|"
    r"put|have|drink|bring|cook with|take)|instead of|rather than|in place of|in lieu of|"
    r"swap(?:ping)? (?:out )?|replac(?:e|ing)|substitut(?:e|ing)|trade)\b",
    re.IGNORECASE,
)
# Phrases that look like negation but are not ("not only", "don't forget the bacon").
_NOT_NEGATION = re.compile(
    r"\b(?:not only|not just|no better|nothing beats|don't forget|do not forget|don't miss|"
    r"can't go wrong|no doubt|no shortage|no matter|never mind|no need to worry)\b|^\s*no,",
    re.IGNORECASE,
)
_SWAP = re.compile(r"\b(?:swap|swapping|replace|replacing|substitute|substituting|trade)\b", re.I)
_INSTEAD = re.compile(r"\b(?:instead of|rather than|in place of|in lieu of)\b", re.I)
_CLAUSE_END = re.compile(r"[.;:!?\n]|\b(?:then|but|however|though|although|while)\b", re.I)


@dataclass(frozen=True)
class Match:
    """One occurrence of a forbidden term in a text."""

    start: int
    end: int
    text: str
    group: str
    negated: bool  # "no meat", "swap the beef for lentils": mentioned, not suggested


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    forms: tuple[str, ...]
    exceptions: tuple[str, ...]


@functools.cache
def groups() -> dict[str, Group]:
    """Every term group with its included groups merged in."""
    raw = yaml.safe_load(GROUPS_FILE.read_text(encoding="utf-8"))["groups"]

    def collect(name: str, seen: frozenset[str] = frozenset()) -> tuple[set[str], set[str]]:
        data = raw[name]
        forms = set(data.get("terms", [])) | set(data.get("irregular", []))
        for words in (data.get("translations") or {}).values():
            forms |= set(words)
        exceptions = set(data.get("not", []))
        for child in data.get("includes", []):
            if child not in seen:
                more, nots = collect(child, seen | {name})
                forms, exceptions = forms | more, exceptions | nots
        return forms, exceptions

    found = {}
    for name, data in raw.items():
        forms, exceptions = collect(name)
        found[name] = Group(
            name,
            data.get("description", ""),
            tuple(sorted(forms, key=str.lower)),
            tuple(sorted(exceptions, key=str.lower)),
        )
    return found


def inflections(term: str) -> set[str]:
    """A term's common inflected forms: plurals, possessives, -ed and -ing, on the last word."""
    head, _, last = term.rpartition(" ")
    prefix = f"{head} " if head else ""
    forms = {last, last + "s", last + "es", last + "'s", last + "s'", last + "ed", last + "ing"}
    if last.endswith("y") and len(last) > 2:
        forms |= {last[:-1] + "ies", last[:-1] + "ied"}
    if last.endswith("e"):
        forms |= {last + "d", last[:-1] + "ing"}
    return {prefix + f for f in forms}


@functools.cache
def _compile(forms: tuple[str, ...]) -> re.Pattern[str]:
    variants = {v for form in forms for v in inflections(form)}
    ordered = sorted(variants, key=len, reverse=True)  # the longest term is the match
    body = "|".join(re.escape(v).replace(r"\ ", r"[\s-]+") for v in ordered)
    return re.compile(rf"(?<!{_W})(?:{body})(?!{_W})", re.IGNORECASE)


def resolve(names: list[str] | tuple[str, ...]) -> list[Group]:
    """Groups by name; any other word becomes a group of its own (a plain forbidden word)."""
    known = groups()
    return [known.get(n) or Group(n, n, (n,), ()) for n in names]


def find(text: str, names: list[str] | tuple[str, ...]) -> list[Match]:
    """Every occurrence of the named groups' terms in text, each marked negated or not."""
    clean = re.sub(r"[*_`#>]", " ", text)  # Markdown marks off; offsets stay the same
    found: list[Match] = []
    for group in resolve(names):
        if not group.forms:
            continue
        excepted = _spans(clean, _compile(group.exceptions)) if group.exceptions else []
        for m in _compile(group.forms).finditer(clean):
            if any(a <= m.start() and m.end() <= b for a, b in excepted):
                continue
            if _modified_away(clean, m.start(), m.end(), group.name):
                continue
            found.append(Match(m.start(), m.end(), text[m.start() : m.end()], group.name,
                               _negated(clean, m.start())))  # fmt: skip
    unique = {(f.start, f.end): f for f in sorted(found, key=lambda f: f.end - f.start)}
    return sorted(unique.values(), key=lambda f: f.start)


def _spans(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _modified_away(text: str, start: int, end: int, group: str) -> bool:
    """'gluten-free bread', 'meat-free', 'vegan sausage': a term turned into its allowed kind."""
    after = text[end : end + 8].lower()
    if re.match(r"[\s-]?(?:free|less)\b", after):
        return True
    before = text[max(0, start - 40) : start].lower()
    if re.search(rf"(?:{group}|{group.replace('_', ' ')})[\s-]free\s+$", before):
        return True
    return group in ANIMAL and bool(re.search(rf"(?:{PLANT_MODIFIERS})[\s-]+$", before))


def _negated(text: str, start: int) -> bool:
    """Whether a negation cue governs the term at start within its clause."""
    clause_start = 0
    for m in _CLAUSE_END.finditer(text, 0, start):
        clause_start = m.end()
    clause = text[clause_start:start]
    cues = [m for m in _NEGATION.finditer(clause) if not _NOT_NEGATION.match(clause, m.start())]
    if not cues:
        return False
    cue = cues[-1]
    between = clause[cue.end() :]
    if _SWAP.match(cue.group()):
        return not re.search(r"\b(?:for|with|by)\b", between, re.I)  # "swap lentils for beef"
    if _INSTEAD.match(cue.group()):
        return "," not in between  # "instead of tofu, use chicken"
    return True
