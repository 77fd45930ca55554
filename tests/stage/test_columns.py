"""Columns streamed together: queued for a one-at-a-time model, at once for a server; a
failure ends only its own column."""

import threading

from personalab import ChatMessage, ColumnKind, GenerationOptions
from personalab.errors import BackendError
from personalab.prompts import PromptPlan
from personalab.reply import Reply
from personalab.stage.columns import stream_columns
from tests.helpers import LinedBackend, ScriptedBackend

PLAN = PromptPlan(ColumnKind.GENERIC, [ChatMessage("user", "Hi")])
OPTIONS = GenerationOptions(max_tokens=8)


def replies(backend, n: int = 2) -> list[Reply]:
    return [Reply(PLAN, backend, OPTIONS) for _ in range(n)]


def test_a_one_at_a_time_model_answers_the_columns_in_turn():
    """Queued columns say they wait; one column finishes before the next starts."""
    backend = ScriptedBackend(["a", "b", "c"], ["d", "e"])
    events = list(stream_columns(replies(backend), concurrent=False))
    assert {e.column for e in events if e.kind == "waiting"} == {0, 1}
    order = [(e.column, e.kind) for e in events if e.kind in ("started", "done")]
    assert order in ([(0, "started"), (0, "done"), (1, "started"), (1, "done")],
                     [(1, "started"), (1, "done"), (0, "started"), (0, "done")])  # fmt: skip


class Gate(ScriptedBackend):
    """A server that answers nobody until every column has asked."""

    concurrent = True

    def __init__(self, columns: int):
        super().__init__(*[["x", "y"] for _ in range(columns)])
        self.barrier = threading.Barrier(columns, timeout=10)

    def stream(self, messages, options):
        self.barrier.wait()  # raises BrokenBarrierError if the columns were queued
        yield from super().stream(messages, options)


def test_a_server_gets_every_column_at_once():
    """With a concurrent backend all columns are asked before any has answered."""
    events = list(stream_columns(replies(Gate(3), 3), concurrent=True))
    assert sorted(e.column for e in events if e.kind == "done") == [0, 1, 2]
    assert not [e for e in events if e.kind == "error"]


class FailsOnce(ScriptedBackend):
    """The first request fails as a server error would; later ones answer."""

    def stream(self, messages, options):
        if not self.calls:
            self.calls.append((messages, options))
            raise BackendError("the server answered 500")
        yield from super().stream(messages, options)


def test_a_failed_column_reports_its_error_and_the_other_still_answers():
    """One column's error is an event for that column; the other column is done with its text."""
    events = list(stream_columns(replies(FailsOnce(["fine"])), concurrent=False))
    errors = [e for e in events if e.kind == "error"]
    assert len(errors) == 1 and "500" in errors[0].text
    done = [e.column for e in events if e.kind == "done"]
    assert done == [1 - errors[0].column]


def test_every_chunk_arrives_in_order_for_its_column():
    """A column's chunks arrive in the order the model gave them."""
    events = list(stream_columns(replies(ScriptedBackend(["a", "b", "c"]), 1), concurrent=False))
    assert "".join(e.text for e in events if e.kind == "chunk") == "abc"


def test_the_later_columns_keep_the_compares_place_in_line():
    """Another session joins the line while the first column streams: the second column is
    served before it, not sent to the back of the room's line."""
    backend = LinedBackend(["a", "b"], ["c", "d"])
    other = None
    for event in stream_columns(replies(backend), concurrent=False):
        if event.kind == "chunk":
            other = other or backend.other_session()  # while the first column holds the model
    other.join(30)
    assert backend.order == ["model", "model", "other"]
