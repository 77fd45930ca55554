"""One writer per memory folder: a file lock, and a note naming the process that holds it."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from filelock import FileLock, Timeout

from personalab.errors import MemoryStoreError

LOCK_NAME = ".personalab.lock"
OWNER_NAME = ".personalab.owner"
WAIT_S = 1.5  # a second process gives up within 2 seconds

_held: dict[Path, FileLock] = {}
_guard = threading.Lock()


def acquire(folder: Path) -> None:
    """Hold the folder's lock for the rest of this process (again and again is fine).

    Chroma's embedded index is not safe with two writing processes; a second one fails here
    with the folder, the process holding it, and the two ways on.
    """
    folder = Path(folder).resolve()
    with _guard:
        if folder in _held:
            return
        lock = FileLock(folder / LOCK_NAME, thread_local=False)
        try:
            lock.acquire(timeout=WAIT_S)
        except Timeout:
            raise MemoryStoreError(_in_use(folder)) from None
        except OSError as exc:
            raise MemoryStoreError(f"cannot lock memory folder {folder}: {exc}") from exc
        _held[folder] = lock
        owner = {"pid": os.getpid(), "command": " ".join(sys.argv)[:200], "since": time.time()}
        with contextlib.suppress(OSError):  # the lock is what counts; the note helps a message
            (folder / OWNER_NAME).write_text(json.dumps(owner), encoding="utf-8")


def release(folder: Path) -> None:
    """Let another process use the folder (tests and tools that hand a folder over)."""
    folder = Path(folder).resolve()
    with _guard:
        lock = _held.pop(folder, None)
    if lock is not None:
        lock.release(force=True)


def _in_use(folder: Path) -> str:
    who = "another process"
    try:
        owner = json.loads((folder / OWNER_NAME).read_text(encoding="utf-8"))
        since = time.strftime("%H:%M", time.localtime(owner["since"]))
        who = f"process {owner['pid']} ({owner['command']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return (
        f"the memory folder {folder} is in use by {who}. Two processes writing one folder "
        "can corrupt it. Stop the other process, or run a Chroma server and point both at it "
        "with PERSONALAB_CHROMA_URL"
    )
