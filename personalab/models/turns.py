"""First come, first served use of a model with N places at once, telling each waiter its place."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

NOTIFY_EVERY_S = 2.0  # how often a waiter hears its place again (and may be stopped)
HISTORY = 20  # recent turns whose mean length estimates the wait


@dataclass(frozen=True)
class Place:
    """Where a request stands: how many are ahead of it, and the estimated wait (None until a
    turn has finished, so there is nothing to estimate from)."""

    ahead: int
    wait_s: float | None

    def describe(self) -> str:
        """ "3 requests ahead of you, about 40 s"."""
        line = f"{self.ahead} request{'s' if self.ahead != 1 else ''} ahead of you"
        if self.wait_s is None:
            return f"{line}, estimating the wait…"
        return f"{line}, about {max(1, round(self.wait_s))} s"


Listener = Callable[[Place | None], None]  # a Place while waiting, None once the turn starts
_listeners: contextvars.ContextVar[tuple[Listener, ...]] = contextvars.ContextVar(
    "personalab_turn_listeners", default=()
)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Within the block, the caller's waits for a model are reported to listener (which may
    raise, for example to stop a page's run: the request then leaves the line)."""
    token = _listeners.set((*_listeners.get(), listener))
    try:
        yield
    finally:
        _listeners.reset(token)


class Turnstile:
    """capacity holders at a time (an in-process model: 1; a server: its slots), the rest in
    arrival order; a waiter's listeners hear its place when it arrives, every NOTIFY_EVERY_S
    while it waits, and None when its turn starts."""

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = max(capacity, 1)
        self._cond = threading.Condition()
        self._line: list[int] = []  # tickets in arrival order; the first `capacity` hold it
        self._tickets = 0
        self._since: dict[int, float] = {}  # holder ticket -> when its turn began
        self._lengths: deque[float] = deque(maxlen=HISTORY)
        self._waits = threading.local()  # per thread: the last turn's (ahead on arrival, wait)
        self._depth = threading.local()  # per thread: turns it holds, nested

    @property
    def waiting(self) -> int:
        """Requests in line behind the holder."""
        with self._cond:
            return max(len(self._line) - self.capacity, 0)

    def place(self, ticket: int) -> Place:
        """How many must finish before ticket's turn (1: the next to finish frees its place)."""
        with self._cond:
            ahead = self._line.index(ticket) - self.capacity + 1
            if not self._lengths:
                return Place(ahead, None)
            mean = sum(self._lengths) / len(self._lengths)
            held = time.monotonic() - min(self._since.values(), default=time.monotonic())
            return Place(ahead, max(mean - held, 0.0) + (ahead - 1) * mean / self.capacity)

    def last_wait(self) -> tuple[int, float]:
        """This thread's last turn: how many were ahead when it arrived, and how long it waited."""
        return getattr(self._waits, "last", (0, 0.0))

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the model for the block, after everyone who came before. A thread that holds
        it already goes straight on (the guard holds it across a reply's attempts, so a retry
        is never sent to the back of the line)."""
        if getattr(self._depth, "n", 0):
            self._depth.n += 1
            try:
                yield
            finally:
                self._depth.n -= 1
            return
        listeners = _listeners.get()
        arrived = time.monotonic()
        with self._cond:
            ticket = self._tickets
            self._tickets += 1
            self._line.append(ticket)
            ahead = max(len(self._line) - self.capacity, 0)
        try:
            waited = False
            while True:
                with self._cond:
                    if self._holds(ticket):
                        self._since[ticket] = time.monotonic()
                        break
                for listener in listeners:  # outside the lock: a listener may draw a page
                    listener(self.place(ticket))
                waited = True
                with self._cond:
                    if not self._holds(ticket):
                        self._cond.wait(NOTIFY_EVERY_S)
            self._waits.last = (ahead, time.monotonic() - arrived)
            if waited:
                for listener in listeners:
                    listener(None)
        except BaseException:
            self._leave(ticket, held=False)
            raise
        self._depth.n = 1
        try:
            yield
        finally:
            self._depth.n = 0
            self._leave(ticket, held=True)

    @contextlib.contextmanager
    def spare(self) -> Iterator[bool]:
        """Hold the model for the block if nobody holds it or waits for it now, else hold
        nothing (yields whether it holds): for work that may be skipped, such as warming a
        cache. Its length does not count in the wait estimates."""
        with self._cond:
            free = not self._line
            if free:
                ticket = self._tickets
                self._tickets += 1
                self._line.append(ticket)
        if not free:
            yield False
            return
        self._depth.n = 1
        try:
            yield True
        finally:
            self._depth.n = 0
            self._leave(ticket, held=False)

    def _holds(self, ticket: int) -> bool:
        return self._line.index(ticket) < self.capacity

    def _leave(self, ticket: int, held: bool) -> None:
        with self._cond:
            since = self._since.pop(ticket, None)
            if held and since is not None:
                self._lengths.append(time.monotonic() - since)
            self._line.remove(ticket)
            self._cond.notify_all()


_servers: dict[tuple[str, int], Turnstile] = {}
_servers_lock = threading.Lock()


def for_server(url: str, slots: int) -> Turnstile:
    """The one line, shared by every session of this process, for a server that decodes
    `slots` requests at once (the app builds a server's client anew on each page run)."""
    with _servers_lock:
        return _servers.setdefault((url, slots), Turnstile(slots))
