"""Choice probabilities read from a model's first answer token: a verdict with no sampling."""

from __future__ import annotations

from collections.abc import Callable

from personalab.errors import BackendError


class NoOdds(BackendError):
    """The model or server gives no usable token probabilities: ask for a written answer."""


def choice_tokens(tokenize: Callable[[str], list[int]], choices: tuple[str, ...]) -> dict:
    """Each choice's first token ids, as it may start an answer: as written, capitalised, upper
    case, lower case."""
    forms = {}
    for choice in choices:
        spelled = {choice, choice.capitalize(), choice.upper(), choice.lower()}
        forms[choice] = sorted({ids[0] for ids in map(tokenize, spelled) if ids})
    return forms


def normalised(mass: dict[str, float]) -> dict[str, float]:
    """Probabilities over the choices alone; NoOdds when the model gave none of them any."""
    total = sum(mass.values())
    if total <= 0:
        raise NoOdds(f"the model gave no probability to any of {', '.join(mass)}")
    return {c: m / total for c, m in mass.items()}
