"""Constraint checks on a reply: forbidden terms, length and language, each with its evidence."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from personalab.records import Memory
from personalab.replies.terms import find, groups
from personalab.text.sentences import split_sentences

LANGUAGES = {
    "en": "English", "de": "German", "es": "Spanish", "fr": "French", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi", "ta": "Tamil",
    "zh": "Chinese", "ja": "Japanese", "pl": "Polish", "tr": "Turkish", "sv": "Swedish",
}  # fmt: skip

# "Answer in <language>", written in that language: a small model follows the language of
# the words next to the message far more readily than an English request for it.
ANSWER_IN = {
    "en": "Answer in English.", "de": "Antworte auf Deutsch, in einfachen Sätzen.",
    "es": "Responde en español.", "fr": "Réponds en français.", "it": "Rispondi in italiano.",
    "nl": "Antwoord in het Nederlands.", "pt": "Responda em português.",
    "ar": "أجب باللغة العربية.", "hi": "हिंदी में उत्तर दें।", "ta": "தமிழில் பதில் அளிக்கவும்.",
    "zh": "请用中文回答。", "ja": "日本語で答えてください。", "pl": "Odpowiedz po polsku.",
    "tr": "Türkçe cevap ver.", "sv": "Svara på svenska.",
}  # fmt: skip


def answer_in(code: str) -> str:
    """The request to answer in a language, written in that language where known."""
    return ANSWER_IN.get(code, f"Write the whole answer in {LANGUAGES.get(code, code)}.")


@dataclass(frozen=True)
class Check:
    """A machine check attached to a hard constraint (or to a fact about the user)."""

    constraint: str  # the constraint's text, as the user or persona put it
    forbid: tuple[str, ...] = ()  # term groups or plain words a reply must not suggest
    max_words: int = 0
    max_sentences: int = 0
    language: str = ""  # ISO 639-1 code the reply must be written in
    echo: tuple[str, ...] = ()  # the instructions a reply must not repeat back
    source: str = "persona"  # persona | fact | prompt
    private: bool = False  # from a private fact: its words never go to a model off this machine

    def to_json(self) -> dict:
        data = {"constraint": self.constraint, "source": self.source}
        for name in ("forbid", "max_words", "max_sentences", "language"):
            value = getattr(self, name)
            if value:
                data[name] = list(value) if isinstance(value, tuple) else value
        if self.echo:
            data["echo"] = f"no {ECHO_WORDS} words in a row from the instructions"
        return data


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one reply, with the offending spans when it failed."""

    check: Check
    passed: bool
    detail: str
    spans: tuple[Span, ...] = ()
    mentions: tuple[Span, ...] = ()  # forbidden terms named only to rule them out

    def to_json(self) -> dict:
        return {
            "check": self.check.to_json(),
            "passed": self.passed,
            "detail": self.detail,
            "spans": [s.__dict__ for s in self.spans],
            "mentions": [s.__dict__ for s in self.mentions],
        }


@dataclass(frozen=True)
class CheckReport:
    """Every check of a reply; passed when none failed."""

    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def mentioned(self) -> bool:
        return any(r.mentions for r in self.results)

    def to_json(self) -> dict:
        return {"passed": self.passed, "checks": [r.to_json() for r in self.results]}


def run_check(check: Check, text: str) -> CheckResult:
    """Apply one check to a reply text."""
    if check.forbid:
        found = find(text, check.forbid)
        bad = tuple(Span(m.start, m.end, m.text) for m in found if not m.negated)
        named = tuple(Span(m.start, m.end, m.text) for m in found if m.negated)
        words = ", ".join(dict.fromkeys(f"“{s.text}”" for s in bad))
        detail = f"names {words}" if bad else "names nothing it rules out"
        return CheckResult(check, not bad, detail, bad, named)
    if check.echo:
        spans = echoed(text, check.echo)
        quoted = " … ".join(f"“{s.text}”" for s in spans[:2])
        detail = f"repeats its instructions: {quoted}" if spans else "answers in its own words"
        return CheckResult(check, not spans, detail, spans)
    if check.max_words:
        n = count_words(text)
        return CheckResult(check, n <= check.max_words, f"{n} words (at most {check.max_words})")
    if check.max_sentences:
        n = count_sentences(text)
        limit = check.max_sentences
        return CheckResult(check, n <= limit, f"{n} sentences (at most {limit})")
    if check.language:
        found = detect_language(text)
        want = LANGUAGES.get(check.language, check.language)
        got = LANGUAGES.get(found, found)
        return CheckResult(check, found == check.language, f"written in {got}, asked: {want}")
    return CheckResult(check, True, "nothing to check")


ECHO_WORDS = 5  # a run of this many words from the instructions is an echo, not an answer
_TOKEN = re.compile(r"[^\W_]+")


def echoed(text: str, instructions: tuple[str, ...]) -> tuple[Span, ...]:
    """The stretches of text that repeat ECHO_WORDS or more words of the instructions in a row
    (any case, any punctuation), merged where they touch."""
    runs = _runs(instructions)
    found = list(_TOKEN.finditer(text))
    words = [m.group().lower() for m in found]
    spans: list[list[int]] = []
    for i in range(len(words) - ECHO_WORDS + 1):
        if tuple(words[i : i + ECHO_WORDS]) in runs:
            start, end = found[i].start(), found[i + ECHO_WORDS - 1].end()
            if spans and start <= spans[-1][1] + 1:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    return tuple(Span(a, b, text[a:b]) for a, b in spans)


@functools.lru_cache(maxsize=32)
def _runs(instructions: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """Every ECHO_WORDS-word run of the instructions (lowercased): built once per prompt, as
    the guard checks the reply at each sentence end."""
    runs = set()
    for sentence in instructions:
        words = [w.lower() for w in _TOKEN.findall(sentence)]
        runs |= {tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}
    return frozenset(runs)


def check_reply(text: str, checks: list[Check]) -> CheckReport:
    return CheckReport([run_check(c, text) for c in checks])


_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.MULTILINE)


def count_words(text: str) -> int:
    """Whitespace-separated tokens holding a letter or digit; list markers are not words."""
    body = _LIST_MARKER.sub(" ", text)
    return sum(1 for t in body.split() if re.search(r"[^\W_]", t))


def count_sentences(text: str) -> int:
    """Sentences end at . ! ? or the end of the text; list markers do not end one."""
    return len(split_sentences(_LIST_MARKER.sub(" ", text), lines=False))


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the language most of text is written in."""
    import py3langid

    plain = re.sub(r"[*_`#>\-]", " ", text)
    return py3langid.classify(plain)[0] if plain.strip() else ""


# What a fact about the user rules out, by the slot the fact extractor gave it.
_TOPIC_GROUPS = {
    "peanut": ["peanut"], "nut": ["peanut", "tree_nut"], "tree-nut": ["tree_nut"],
    "shellfish": ["shellfish"], "seafood": ["seafood"], "fish": ["fish"], "egg": ["egg"],
    "milk": ["dairy"], "dairi": ["dairy"], "lactos": ["dairy"], "chees": ["dairy"],
    "gluten": ["gluten"], "wheat": ["gluten"], "coeliac": ["gluten"], "soy": ["soy"],
    "sesam": ["sesame"], "pork": ["pork"], "beef": ["beef"], "meat": ["meat", "seafood"],
    "red-meat": ["beef", "pork"], "chicken": ["poultry"], "sugar": ["sugar"],
    "alcohol": ["alcohol"], "honey": ["honey"], "blind": ["visual"], "fli": ["flying"],
}  # fmt: skip
_DIETS = {
    "vegan": ["meat", "seafood", "dairy", "egg", "honey", "gelatin"],
    "vegetarian": ["meat", "seafood", "gelatin"],
    "veggie": ["meat", "seafood", "gelatin"],
    "pescatarian": ["meat"],
    "pescetarian": ["meat"],
}
_NEGATIVE = re.compile(r"\b(?:don't|do not|never|no|not|can't|cannot|avoid|quit|stopped)\b", re.I)


def checks_for_fact(fact: Memory) -> list[Check]:
    """The checks a fact implies ('I'm vegan' rules out meat, dairy...), or none."""
    slot, _, topic = fact.key.partition(":")
    text = fact.text.lower()
    forbid: list[str] = []
    if slot == "diet":
        diet = next((d for d in _DIETS if d in text), None)
        forbid = _DIETS[diet] if diet else (["meat"] if "meat" in text else [])
    elif slot in ("allergy", "avoid"):
        forbid = _TOPIC_GROUPS.get(topic) or _TOPIC_GROUPS.get(topic.split("-")[0]) or []
        forbid = forbid or ([topic] if topic and topic in groups() else [])
    elif slot == "condition":
        forbid = _TOPIC_GROUPS.get(topic, [])
    elif slot in ("alcohol", "caffeine") and _NEGATIVE.search(text):
        forbid = [slot]
    elif slot == "car" and _NEGATIVE.search(text):
        forbid = ["driving"]
    elif slot == "fear" and topic.startswith("fli"):
        forbid = ["flying"]
    check = Check(fact.text, forbid=tuple(forbid), source="fact", private=fact.private)
    return [check] if forbid else []
