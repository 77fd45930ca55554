"""Write batches: a thread's writes to one scope held for one Chroma write and one revision."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from personalab.records import Memory

Queue = dict[str, tuple[Memory, list[float]]]  # id -> the memory as last written, its vector


class Batches:
    """Open batches per scope: this thread's held writes, and whether a revision waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}  # scope -> open batches of any thread
        self._pending: set[str] = set()  # scopes changed while a batch was open
        self._local = threading.local()  # this thread's queues: scope -> Queue

    def queue(self, name: str) -> Queue | None:
        """Where this thread's writes to the scope wait, if it has a batch open on it."""
        return getattr(self._local, "queues", {}).get(name)

    def is_open(self, name: str) -> bool:
        """Whether any thread has a batch open on the scope."""
        with self._lock:
            return name in self._open

    def defer(self, name: str) -> bool:
        """Whether a new revision must wait for the scope's open batches (then it will)."""
        with self._lock:
            if name in self._open:
                self._pending.add(name)
                return True
        return False

    @contextmanager
    def hold(
        self, name: str, flush: Callable[[Queue], None], changed: Callable[[], None], writes: bool
    ) -> Iterator[None]:
        """With writes, hold this thread's writes to the scope until its outermost batch ends,
        then flush them; leave one revision when the last batch of any thread ends."""
        queues = self._local.__dict__.setdefault("queues", {})
        outer = writes and name not in queues
        if outer:
            queues[name] = {}
        with self._lock:
            self._open[name] = self._open.get(name, 0) + 1
        try:
            yield
        finally:
            try:
                if outer and queues[name]:
                    flush(queues[name])
            finally:
                if outer:
                    del queues[name]
                if self._close(name):
                    changed()

    def _close(self, name: str) -> bool:
        """One batch of the scope ended: whether it was the last and a revision waits."""
        with self._lock:
            self._open[name] -= 1
            if self._open[name]:
                return False
            del self._open[name]
            waiting = name in self._pending
            self._pending.discard(name)
            return waiting
