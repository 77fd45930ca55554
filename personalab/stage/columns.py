"""Several replies streamed at once (or queued, for a one-at-a-time model) as ordered events."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from personalab.errors import PersonaLabError
from personalab.models import turns
from personalab.reply import Reply


@dataclass(frozen=True)
class Event:
    """Something that happened to one column: it started, got text, finished, or failed."""

    column: int
    kind: str  # waiting | in_line | started | chunk | done | error
    text: str = ""  # a chunk, an error, or (in_line) where the column stands for the model


def stream_columns(replies: list[Reply], concurrent: bool) -> Iterator[Event]:
    """Events of every reply, as they happen.

    With a backend that serves several requests at once, each reply streams in its own
    thread. With one that serves one at a time, they run one after another in one thread that
    holds the model's line throughout, so the later columns keep the compare's place instead
    of queueing again behind everyone else (each column says "waiting" until its turn). A
    failure ends only its own column. Leaving the loop early stops the remaining work.
    """
    events: queue.Queue[Event | None] = queue.Queue()
    stop = threading.Event()

    def one(index: int, reply: Reply) -> None:
        try:
            if stop.is_set():  # the reader left while this column waited its turn
                return
            events.put(Event(index, "started"))
            for chunk in reply:
                if stop.is_set():
                    return
                events.put(Event(index, "chunk", chunk))
            events.put(Event(index, "done"))
        except PersonaLabError as exc:
            events.put(Event(index, "error", str(exc)))
        except Exception as exc:  # one broken column must not take the others down
            events.put(Event(index, "error", f"{type(exc).__name__}: {exc}"))

    def in_line(index: int) -> turns.Listener:
        def heard(place: turns.Place | None) -> None:
            if place is not None:  # other sessions hold the model
                events.put(Event(index, "in_line", place.describe()))

        return heard

    def alone(index: int, reply: Reply) -> None:
        try:
            with turns.listening(in_line(index)):
                one(index, reply)
        finally:
            events.put(None)

    def in_turn() -> None:
        line = getattr(replies[0].backend, "turns", None) if replies else None
        try:
            for index in range(len(replies)):
                events.put(Event(index, "waiting"))
            with turns.listening(in_line(0)), line.turn() if line else contextlib.nullcontext():
                for index, reply in enumerate(replies):
                    one(index, reply)
        except Exception as exc:  # the line itself failed: say so in the first column
            events.put(Event(0, "error", f"{type(exc).__name__}: {exc}"))
        finally:
            events.put(None)

    if concurrent:
        threads = [
            threading.Thread(target=alone, args=(i, r), daemon=True, name=f"column-{i}")
            for i, r in enumerate(replies)
        ]
    else:
        threads = [threading.Thread(target=in_turn, daemon=True, name="columns")]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < len(threads):
            event = events.get()
            if event is None:
                finished += 1
                continue
            yield event
    finally:
        stop.set()
