"""The in-process model's line: first come first served, each waiter told its place."""

import threading

import pytest

from personalab.models import turns
from personalab.models.turns import Place, Turnstile
from tests.helpers import WAIT_S, until


class Holder:
    """A thread that holds the turnstile until released."""

    def __init__(self, gate: Turnstile):
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(gate,), daemon=True)
        self.thread.start()
        assert self.held.wait(WAIT_S)

    def _hold(self, gate: Turnstile) -> None:
        with gate.turn():
            self.held.set()
            self.release.wait(WAIT_S)

    def done(self) -> None:
        self.release.set()
        self.thread.join(WAIT_S)


def queue_up(gate: Turnstile, name: str, order: list, heard: dict) -> threading.Thread:
    """A request that joins the line, noting what it hears and when its turn comes."""

    def run() -> None:
        with turns.listening(heard.setdefault(name, []).append), gate.turn():
            order.append(name)

    thread = threading.Thread(target=run, daemon=True)
    before = gate.waiting
    thread.start()
    until(lambda: gate.waiting > before, f"{name} is in line")
    return thread


def test_requests_are_served_in_the_order_they_came_and_each_hears_its_place():
    gate, order, heard = Turnstile(), [], {}
    holder = Holder(gate)
    threads = [queue_up(gate, name, order, heard) for name in ("a", "b", "c")]
    until(lambda: all(heard.get(n) for n in "abc"), "everyone heard their place")
    assert [heard[n][0].ahead for n in "abc"] == [1, 2, 3]
    # no turn has finished yet: there is nothing to estimate a wait from, and it says so
    assert heard["c"][0].wait_s is None and "estimating" in heard["c"][0].describe()
    holder.done()
    for thread in threads:
        thread.join(WAIT_S)
    assert order == ["a", "b", "c"]
    assert all(h[-1] is None for h in heard.values())  # told when the turn came
    later = [p for p in heard["c"] if p is not None and p.ahead < 3]
    assert all(p.wait_s is not None for p in later)  # once turns have ended, an estimate


def test_a_request_that_gives_up_leaves_the_line():
    """A page stopped while it waits (its listener raises) must not hold up anyone behind it."""
    gate, order, heard = Turnstile(), [], {}
    holder = Holder(gate)
    quit_now = threading.Event()
    failures = []

    def impatient() -> None:
        def listener(place: Place | None) -> None:
            if quit_now.is_set():
                raise KeyboardInterrupt("page stopped")

        try:
            with turns.listening(listener), gate.turn():
                order.append("impatient")
        except KeyboardInterrupt as exc:
            failures.append(str(exc))

    quitter = threading.Thread(target=impatient, daemon=True)
    quitter.start()
    until(lambda: gate.waiting == 1, "the impatient request is in line")
    patient = queue_up(gate, "patient", order, heard)
    quit_now.set()
    quitter.join(WAIT_S)
    assert failures == ["page stopped"] and gate.waiting == 1
    holder.done()
    patient.join(WAIT_S)
    assert order == ["patient"] and gate.waiting == 0


def test_a_turn_reports_how_long_it_waited_and_behind_how_many():
    gate = Turnstile()
    with gate.turn():
        pass
    assert gate.last_wait()[0] == 0  # nobody ahead
    holder = Holder(gate)
    result = []

    def run() -> None:
        with gate.turn():
            result.append(gate.last_wait())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    until(lambda: gate.waiting == 1, "the request is in line")
    holder.done()
    thread.join(WAIT_S)
    assert result[0][0] == 1 and result[0][1] > 0


@pytest.mark.parametrize(
    ("place", "words"),
    [
        (Place(1, 4.2), "1 request ahead of you, about 4 s"),
        (Place(3, 40.4), "3 requests ahead of you, about 40 s"),
        (Place(2, 0.1), "2 requests ahead of you, about 1 s"),
    ],
)
def test_the_place_reads_as_a_person_would_say_it(place, words):
    assert place.describe() == words


def test_a_server_with_slots_serves_that_many_at_once_and_the_rest_wait_their_turn():
    gate, order, heard = Turnstile(capacity=2), [], {}
    first, second = Holder(gate), Holder(gate)  # both hold at once: two slots
    assert gate.waiting == 0
    third = queue_up(gate, "third", order, heard)
    until(lambda: heard.get("third"), "the third request heard its place")
    assert heard["third"][0].ahead == 1  # the next slot to free is its
    first.done()
    third.join(WAIT_S)
    assert order == ["third"]
    second.done()


def test_every_session_talking_to_one_server_shares_one_line():
    """The app builds a server's client on every page run: the line must outlive it."""
    from personalab.models.remote import OpenAIBackend

    url = "http://127.0.0.1:9/v1"
    one, two = OpenAIBackend("m", base_url=url, slots=4), OpenAIBackend("m", base_url=url, slots=4)
    assert one.turns is two.turns and one.turns.capacity == 4
    assert OpenAIBackend("m", base_url=url).turns is None  # no slots set: no line


def test_a_thread_that_holds_the_turn_goes_straight_on_when_it_asks_again():
    """The guard holds the model across a reply's attempts; each attempt's own request for a
    turn must not wait behind the room (or for itself)."""
    gate, order, heard = Turnstile(), [], {}
    with gate.turn():
        waiting = queue_up(gate, "waiting", order, heard)
        with gate.turn():  # would wait forever if it queued behind "waiting"
            order.append("retry")
        assert gate.waiting == 1
    waiting.join(WAIT_S)
    assert order == ["retry", "waiting"]


def test_spare_work_takes_the_model_only_when_nobody_holds_or_waits_for_it():
    """Warming a cache runs only on an idle model: it never takes a turn from a request, and a
    request that comes meanwhile waits only for it to end."""
    gate = Turnstile()
    holder = Holder(gate)
    with gate.spare() as free:
        assert not free  # someone holds the model: skipped, nothing held
    holder.done()
    order, heard = [], {}
    with gate.spare() as free:
        assert free
        thread = queue_up(gate, "request", order, heard)
        until(lambda: heard.get("request"), "the request heard its place")
        assert heard["request"][0].ahead == 1 and not order
    thread.join(WAIT_S)
    assert order == ["request"] and gate.waiting == 0
