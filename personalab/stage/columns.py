"""Several replies streamed at once (or queued, for a one-at-a-time model) as ordered events."""

from __future__ import annotations

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
    """Events of every reply, as they happen; each reply streams in its own thread.

    With a backend that serves one request at a time the replies run one after another
    (each column says "waiting" until its turn); otherwise all start at once. A failure ends
    only its own column. Leaving the loop early stops the remaining work.
    """
    events: queue.Queue[Event | None] = queue.Queue()
    stop = threading.Event()
    turn = threading.Lock() if not concurrent else None

    def run(index: int, reply: Reply) -> None:
        def in_line(place: turns.Place | None) -> None:
            if place is not None:  # other sessions hold the model
                events.put(Event(index, "in_line", place.describe()))

        try:
            if turn is not None:
                events.put(Event(index, "waiting"))
                turn.acquire()
            try:
                if stop.is_set():  # the reader left while this column waited its turn
                    return
                events.put(Event(index, "started"))
                with turns.listening(in_line):
                    for chunk in reply:
                        if stop.is_set():
                            return
                        events.put(Event(index, "chunk", chunk))
                events.put(Event(index, "done"))
            finally:
                if turn is not None:
                    turn.release()
        except PersonaLabError as exc:
            events.put(Event(index, "error", str(exc)))
        except Exception as exc:  # one broken column must not take the others down
            events.put(Event(index, "error", f"{type(exc).__name__}: {exc}"))
        finally:
            events.put(None)

    threads = [
        threading.Thread(target=run, args=(i, r), daemon=True, name=f"column-{i}")
        for i, r in enumerate(replies)
    ]
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
