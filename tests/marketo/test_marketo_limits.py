"""The limiter: sliding window counted from each call's finish, concurrency, safety margin."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mktsync.config.model import Limits
from mktsync.marketo.codes import DeadlineReached
from mktsync.marketo.limits import Limiter
from mktsync.marketo.stats import ClientStats
from mktsync.marketo.stop import Deadline


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make(limits: Limits) -> tuple[Limiter, FakeTime]:
    fake = FakeTime()
    return Limiter(limits, clock=fake.clock, sleep=fake.sleep), fake


def test_calls_within_capacity_do_not_wait() -> None:
    limiter, fake = make(Limits(calls=3, window_seconds=10.0))
    for _ in range(3):
        with limiter.slot():
            pass
    assert fake.sleeps == []
    assert limiter.used() == 3


def test_next_call_waits_until_the_oldest_finish_leaves_the_window() -> None:
    stats = ClientStats()
    fake = FakeTime()
    limiter = Limiter(
        Limits(calls=3, window_seconds=10.0), stats=stats, clock=fake.clock, sleep=fake.sleep
    )
    finishes = []
    for _ in range(3):
        with limiter.slot():
            fake.now += 1.0  # the call takes a second
        finishes.append(fake.now)
    with limiter.slot():
        started = fake.now
    assert started == finishes[0] + 10.0  # sliding: freed by the first finish, not a fixed bucket
    assert stats.snapshot().throttled_waits == 1
    assert stats.snapshot().throttled_seconds == pytest.approx(8.0)


def test_window_slides_rather_than_resetting() -> None:
    limiter, fake = make(Limits(calls=2, window_seconds=10.0))
    with limiter.slot():
        pass  # finishes at 1000
    fake.now += 9.0
    with limiter.slot():
        pass  # finishes at 1009
    fake.now += 2.0  # 1011: the first left the window, the second has not
    with limiter.slot():
        pass
    assert fake.sleeps == []
    with limiter.slot():
        pass
    assert fake.now == pytest.approx(1019.0)  # waited for the 1009 call to leave


def test_a_call_whose_slot_frees_after_its_deadline_gives_up_without_waiting() -> None:
    limiter, fake = make(Limits(calls=1, window_seconds=20.0, safety_margin=0.0))
    with limiter.slot():
        fake.now += 1.0
    soon = Deadline(at=fake.now + 5.0, clock=fake.clock)
    with pytest.raises(DeadlineReached, match=r"the next slot in the rate window frees in 20\.0 s"):
        with limiter.slot(deadline=soon):
            pass  # pragma: no cover
    assert fake.sleeps == []  # it never waited for a slot it could not use
    assert limiter.used() == 1  # nor took one
    with limiter.slot(deadline=Deadline(at=fake.now + 30.0, clock=fake.clock)):
        pass  # a slot that frees before the deadline is waited for
    assert fake.sleeps == [20.0]


def test_a_call_past_its_deadline_is_not_sent_even_with_slots_free() -> None:
    limiter, fake = make(Limits(calls=1, window_seconds=20.0, safety_margin=0.0))
    with limiter.slot(deadline=Deadline(at=fake.now, clock=fake.clock)):
        pass  # a free slot is taken without looking at the clock: the budget was checked
    with pytest.raises(DeadlineReached, match="no slot in the rate window frees before"):
        with limiter.slot(deadline=Deadline(at=fake.now, clock=fake.clock)):
            pass  # pragma: no cover


def test_a_wait_for_a_free_concurrency_place_ends_at_the_deadline() -> None:
    limiter = Limiter(Limits(calls=100, window_seconds=20.0, concurrency=1))
    with limiter.slot():  # the only place, held
        with pytest.raises(DeadlineReached, match="no concurrency place came free"):
            with limiter.slot(deadline=Deadline.after(0.05)):
                pass  # pragma: no cover
    assert limiter.used() == 1  # the held call's slot only


def test_safety_margin_leaves_a_share_for_other_integrations() -> None:
    assert Limiter(Limits(calls=100, safety_margin=0.5)).capacity == 50
    assert Limiter(Limits(calls=100, safety_margin=0.0)).capacity == 100
    assert Limiter(Limits(calls=1, safety_margin=0.9)).capacity == 1  # never zero


@pytest.mark.parametrize(
    "limits",
    [Limits(calls=0), Limits(concurrency=0), Limits(window_seconds=0), Limits(safety_margin=1.0)],
)
def test_nonsense_limits_are_refused(limits: Limits) -> None:
    with pytest.raises(ValueError, match="limits"):
        Limiter(limits)


def test_concurrency_is_bounded_across_threads() -> None:
    limiter = Limiter(Limits(calls=1000, window_seconds=1.0, concurrency=2))
    lock = threading.Lock()
    inside = 0
    most = 0
    crowded = threading.Event()

    def work() -> None:
        nonlocal inside, most
        with limiter.slot():
            with lock:
                inside += 1
                most = max(most, inside)
                if inside > 2:
                    crowded.set()
            crowded.wait(0.05)  # hold the slot so that others pile up behind it
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2


def test_rate_holds_for_many_threads() -> None:
    window = 0.2
    limiter = Limiter(Limits(calls=5, window_seconds=window, concurrency=10))
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def work() -> None:
        with limiter.slot():
            started = time.monotonic()
            # Stamped inside the slot, so never later than the limiter's own stamp at exit:
            # a loaded machine delaying this thread cannot make a legal start look early.
            finished = time.monotonic()
        with lock:
            spans.append((started, finished))

    threads = [threading.Thread(target=work) for _ in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # No call may start while 5 others are in flight or finished less than a window ago.
    for start, _ in spans:
        busy = [s for s in spans if s[0] < start and s[1] + window > start]
        assert len(busy) < 5
    assert limiter.stats.snapshot().throttled_waits >= 10


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["start", "finish"]), st.floats(min_value=0.0, max_value=3.0)),
        max_size=60,
    )
)
def test_no_start_ever_exceeds_the_window(steps: list[tuple[str, float]]) -> None:
    """Any mix of overlapping calls and pauses: at each start, fewer than ``capacity``
    calls are in flight or finished within the last window."""
    limiter, fake = make(Limits(calls=4, window_seconds=5.0, concurrency=10))
    held: list[ExitStack] = []
    finishes: list[float] = []
    for action, pause in steps:
        fake.now += pause
        if action == "start" and len(held) < 3:  # leave one slot that a finish can free
            stack = ExitStack()
            stack.enter_context(limiter.slot())
            recent = [f for f in finishes if f + 5.0 > fake.now]
            assert len(recent) + len(held) < 4
            held.append(stack)
        elif action == "finish" and held:
            held.pop(0).close()
            finishes.append(fake.now)
    for stack in held:
        stack.close()
