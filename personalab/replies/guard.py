"""The guard for the personalized answer: check while streaming, steer, try again, never hide."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from personalab.models.backends import ChatBackend, ChatMessage, GenerationOptions
from personalab.replies.checks import Check, CheckReport, check_reply
from personalab.replies.terms import resolve
from personalab.text.sentences import ends_sentence


@dataclass(frozen=True)
class GuardPolicy:
    """How hard the guard tries: attempts, a time budget, and whether to steer token choice."""

    max_attempts: int = 3
    time_budget_s: float = 30.0  # no new attempt starts after this long
    steer: bool = True
    # Also retry an answer in the wrong language (checked once it is whole): for a group,
    # where the language one member needs is easy for a small model to miss.
    languages: bool = False


@dataclass(frozen=True)
class Attempt:
    """One try at the reply: its text, its checks, how long it took, whether it was cut short."""

    text: str
    report: CheckReport
    seconds: float
    stopped_early: bool

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "passed": self.report.passed,
            "failed": [r.detail for r in self.report.failures],
            "seconds": round(self.seconds, 3),
            "stopped_early": self.stopped_early,
        }


@dataclass
class GuardLog:
    """What the guard did for one reply, in words a person reads in the UI."""

    attempts: list[Attempt] = field(default_factory=list)
    steered: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        if not self.attempts:
            return ""
        last = self.attempts[-1]
        if len(self.attempts) == 1:
            return (
                "Passed its checks on the first attempt."
                if last.report.passed
                else ("Still breaks a check: " + "; ".join(r.detail for r in last.report.failures))
            )
        earlier = "; ".join(
            f"attempt {i + 1} {' and '.join(r.detail for r in a.report.failures)}"
            for i, a in enumerate(self.attempts[:-1])
        )
        verdict = "passes its checks" if last.report.passed else "still breaks a check (flagged)"
        return f"Attempt {len(self.attempts)} of the guard {verdict}; {earlier}."

    def to_json(self) -> dict:
        return {
            "summary": self.summary,
            "steered_away_from": len(self.steered),
            "attempts": [a.to_json() for a in self.attempts],
        }


def hard(checks: list[Check]) -> list[Check]:
    """The checks worth another attempt: forbidden terms, and instructions repeated instead of
    an answer (length and language are reported)."""
    return [c for c in checks if c.forbid or c.echo]


def avoid_words(checks: list[Check]) -> tuple[str, ...]:
    """Every forbidden surface form of the checks, plurals included, for token steering."""
    forms: list[str] = []
    for group in resolve([name for c in checks for name in c.forbid]):
        for form in group.forms:
            forms += [form, form + "s"] if " " not in form else [form]
    return tuple(sorted(set(forms)))


def feedback(message: ChatMessage, failures: list[str], checks: list[Check]) -> ChatMessage:
    """The user's message again, with what the last attempt did wrong and must not repeat."""
    rules = " ".join(dict.fromkeys(c.constraint for c in checks))
    note = (
        f"\n\n(Your last answer {'; '.join(failures)}, which does not fit: {rules} "
        "Answer again and suggest only things that fit.)"
    )
    return ChatMessage(message.role, message.content + note)


def guarded(
    backend: ChatBackend,
    messages: list[ChatMessage],
    options: GenerationOptions,
    checks: list[Check],
    policy: GuardPolicy,
    log: GuardLog,
) -> Iterator[str]:
    """Stream attempts until one passes the hard checks, or attempts or time run out.

    Text is checked at every sentence end while it streams; an attempt that names a forbidden
    thing is stopped there. Between attempts a marker chunk says what happened. The last
    attempt is always shown in full, flagged if it still fails: nothing is hidden.
    """
    rules = hard(checks)
    if policy.steer and backend.steers and rules:
        log.steered = avoid_words(rules)
        options = replace(options, avoid=log.steered)
    start = None  # the first chunk: time spent waiting in line for the model is not counted
    current = list(messages)
    # A one-at-a-time model is held across the attempts: a retry keeps the reply's place.
    line = getattr(backend, "turns", None)
    with line.turn() if line is not None else contextlib.nullcontext():
        for attempt in range(policy.max_attempts):
            final = attempt == policy.max_attempts - 1
            spent = time.perf_counter() - start if start is not None else 0.0
            final = final or spent > policy.time_budget_s
            began, text, stopped = time.perf_counter(), "", False
            stream = backend.stream(current, options)
            try:
                for chunk in stream:
                    start = start or time.perf_counter()
                    text += chunk
                    yield chunk
                    if final or not rules or not ends_sentence(chunk):
                        continue
                    if not check_reply(text, rules).passed:
                        stopped = True
                        break
            finally:
                stream.close()
            report = check_reply(text.strip(), checks)
            log.attempts.append(Attempt(text.strip(), report, time.perf_counter() - began, stopped))
            retried = [r for r in report.failures if r.check in rules or (
                policy.languages and r.check.language)]  # fmt: skip
            if not retried or final:
                return
            failures = [r.detail for r in retried]
            yield f"\n\n*[guard: that attempt {'; '.join(failures)}; trying again]*\n\n"
            broken = list(dict.fromkeys([*rules, *(r.check for r in retried)]))
            current = messages[:-1] + [feedback(messages[-1], failures, broken)]
