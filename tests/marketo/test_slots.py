"""The slots of one instance, in both stores (a file on this machine, PostgreSQL), under a
clock the test moves: what a call takes, when it comes free, what a dead process leaves."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mktsync.marketo.codes import LimiterUnavailable
from mktsync.marketo.shared_limits import SlotBook
from mktsync.marketo.slots import CONCURRENCY_POLL, Claim
from mktsync.marketo.slots_file import FileSlots
from mktsync.marketo.slots_postgres import PostgresSlots

LEASE, WINDOW = 15.0, 20.0
T0 = 1000.0

MakeBook = Callable[..., SlotBook]


@pytest.fixture(params=["file", "postgresql"])
def make_book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeBook]:
    """``make_book(capacity, concurrency)``: a store of one instance; every book made by
    one test sees the same slots (two processes' views)."""
    key = f"test-{uuid.uuid4().hex[:8]}.mktorest.com"
    made: list[SlotBook] = []

    def make(capacity: int = 2, concurrency: int = 2) -> SlotBook:
        book: SlotBook
        if request.param == "file":
            book = FileSlots(tmp_path, key)
        else:
            url = request.getfixturevalue("postgres_database")
            book = PostgresSlots(url, key, capacity=capacity, concurrency=concurrency)
        made.append(book)
        return book

    yield make
    for book in made:
        book.close()


def claim(owner: str, call: int, capacity: int = 2, concurrency: int = 2) -> Claim:
    return Claim(
        owner=owner,
        call=call,
        capacity=capacity,
        concurrency=concurrency,
        lease=LEASE,
        window=WINDOW,
    )


def test_a_rate_slot_is_held_from_the_start_until_a_window_after_the_finish(
    make_book: MakeBook,
) -> None:
    book = make_book(capacity=2, concurrency=2)
    assert book.take(claim("a", 1), T0).taken
    assert book.take(claim("b", 1), T0 + 1).taken
    full = book.take(claim("a", 2), T0 + 2)
    assert (full.taken, full.why) == (False, "rate")
    # Both in flight: free at the end of a lease plus a window, the earliest first.
    assert full.wait == pytest.approx(T0 + LEASE + WINDOW - (T0 + 2))
    book.release("a", 1, window=WINDOW, sent=True, now=T0 + 3)  # a's call took 3 s
    assert book.take(claim("a", 2), T0 + 3 + WINDOW - 0.01).why == "rate"
    assert book.take(claim("a", 2), T0 + 3 + WINDOW).taken  # one window after its finish


def test_a_call_that_never_left_gives_its_rate_slot_back_at_once(make_book: MakeBook) -> None:
    book = make_book(capacity=1, concurrency=1)
    assert book.take(claim("a", 1, 1, 1), T0).taken
    book.release("a", 1, window=WINDOW, sent=False, now=T0 + 0.5)
    assert book.take(claim("b", 1, 1, 1), T0 + 0.5).taken


def test_a_concurrency_slot_is_free_as_soon_as_its_call_returns(make_book: MakeBook) -> None:
    book = make_book(capacity=5, concurrency=1)
    assert book.take(claim("a", 1, 5, 1), T0).taken
    busy = book.take(claim("b", 1, 5, 1), T0 + 0.1)
    # The store cannot foresee a return: a process waiting only for it asks again soon.
    assert (busy.taken, busy.why, busy.wait) == (False, "concurrency", CONCURRENCY_POLL)
    book.release("a", 1, window=WINDOW, sent=True, now=T0 + 0.2)
    assert book.take(claim("b", 1, 5, 1), T0 + 0.2).taken


def test_a_dead_process_frees_its_slots_when_its_lease_runs_out(make_book: MakeBook) -> None:
    book = make_book(capacity=2, concurrency=1)
    assert book.take(claim("dead", 1, 2, 1), T0).taken  # ... and its process is killed
    assert book.take(claim("alive", 1, 2, 1), T0 + LEASE - 0.01).why == "concurrency"
    # The lease is over: the concurrency slot is free at once ...
    assert book.take(claim("alive", 1, 2, 1), T0 + LEASE).taken
    book.release("alive", 1, window=WINDOW, sent=True, now=T0 + LEASE + 1)
    # ... and the dead call's rate slot one window later, as if it had ended with its lease.
    late = book.take(claim("alive", 2, 2, 1), T0 + LEASE + WINDOW - 0.01)
    assert (late.why, late.wait) == ("rate", pytest.approx(0.01))
    assert book.take(claim("alive", 2, 2, 1), T0 + LEASE + WINDOW).taken


def test_renewing_keeps_a_long_call_s_slots_and_only_its_owner_s(make_book: MakeBook) -> None:
    book = make_book(capacity=2, concurrency=1)
    assert book.take(claim("slow", 1, 2, 1), T0).taken
    book.renew("slow", lease=LEASE, window=WINDOW, now=T0 + 10)
    book.renew("other", lease=LEASE, window=WINDOW, now=T0 + 100)  # touches nothing of slow's
    waiting = book.take(claim("b", 1, 2, 1), T0 + LEASE + 1)
    assert (waiting.taken, waiting.why) == (False, "concurrency")  # still leased: 10 + 15
    assert book.take(claim("b", 1, 2, 1), T0 + 10 + LEASE).taken


def test_a_606_holds_every_process_until_it_is_over(make_book: MakeBook) -> None:
    book = make_book()
    book.hold(3.0, code="606", now=T0)
    book.hold(1.0, code="606", now=T0 + 1)  # a shorter hold never shortens a longer one
    held = book.take(claim("b", 1), T0 + 1)
    assert (held.taken, held.why) == (False, "hold")
    assert held.wait == pytest.approx(2.0)
    assert book.take(claim("b", 1), T0 + 3).taken


def test_a_process_with_smaller_limits_uses_only_its_own_share(make_book: MakeBook) -> None:
    big = make_book(capacity=3, concurrency=3)
    small = make_book(capacity=1, concurrency=1)
    # The larger takes the high slots first, leaving slot 0, the smaller one's only slot.
    assert big.take(claim("big", 1, 3, 3), T0).taken
    assert big.take(claim("big", 2, 3, 3), T0).taken
    assert small.take(claim("small", 1, 1, 1), T0).taken
    assert not small.take(claim("small", 2, 1, 1), T0).taken
    # Together they never pass the larger limits: three calls in the window.
    assert not big.take(claim("big", 3, 3, 3), T0).taken


def test_two_views_of_one_instance_see_each_other_s_slots(make_book: MakeBook) -> None:
    one, two = make_book(capacity=1, concurrency=1), make_book(capacity=1, concurrency=1)
    assert one.take(claim("a", 1, 1, 1), T0).taken
    assert not two.take(claim("b", 1, 1, 1), T0).taken
    two.release("a", 1, window=WINDOW, sent=True, now=T0)  # any view may give it back
    assert not one.take(claim("b", 1, 1, 1), T0 + WINDOW - 1).taken
    assert one.take(claim("b", 1, 1, 1), T0 + WINDOW).taken


def test_a_look_shows_every_process_s_slots_taken_and_the_hold(make_book: MakeBook) -> None:
    book, other = make_book(capacity=3, concurrency=3), make_book(capacity=3, concurrency=3)
    assert book.take(claim("a", 1, 3, 3), T0).taken
    assert other.take(claim("b", 1, 3, 3), T0).taken
    other.release("b", 1, window=WINDOW, sent=True, now=T0 + 2)
    seen = book.look(3, T0 + 3)
    # b's call finished (free a window after), a's is in flight (its free_at is a lease's).
    assert seen.finished == (pytest.approx(T0 + 2 + WINDOW),)
    assert (seen.in_flight, seen.hold_until) == (1, 0.0)
    assert seen.frees(latency=1.0, window=WINDOW) == [
        pytest.approx(WINDOW - 1),
        pytest.approx(1.0 + WINDOW),
    ]
    other.hold(40.0, code="606", now=T0 + 3)
    assert book.look(3, T0 + 4).held() == pytest.approx(39.0)
    assert book.look(3, T0 + 2 + WINDOW).finished == ()  # free again


@pytest.mark.parametrize(
    "change",
    [
        lambda book: book.take(dataclasses.replace(claim("a", 1), window=math.nan), T0),
        lambda book: book.take(dataclasses.replace(claim("a", 1), lease=math.inf), T0),
        lambda book: book.hold(math.nan, code="606", now=T0),
        lambda book: book.hold(math.inf, code="606", now=T0),
        lambda book: book.renew("a", lease=LEASE, window=math.nan, now=T0),
        lambda book: book.release("a", 1, window=math.inf, sent=True, now=T0),
    ],
)
def test_a_time_that_is_not_finite_is_never_written(
    make_book: MakeBook, change: Callable[[SlotBook], object]
) -> None:
    book, other = make_book(), make_book()
    with pytest.raises(LimiterUnavailable, match="not a time the shared limits can hold"):
        change(book)
    # The other process of the instance is untouched: its call goes at once.
    assert other.take(claim("b", 1), T0).taken


def _damage(book: SlotBook, what: str) -> None:
    """Write ``what`` into a slot (or the hold) the way an older or hostile process could."""
    if isinstance(book, FileSlots):
        table = book.table().to_json()
        table["rate"] = [[what if i == 0 else 0, None, None] for i in range(2)]
        book.path.write_text(json.dumps(table).replace(f'"{what}"', what), encoding="utf-8")
        return
    import psycopg

    assert isinstance(book, PostgresSlots)
    with psycopg.connect(book._url, autocommit=True) as conn:
        conn.execute(
            "UPDATE mktsync_limit_slots SET free_at = %s::float8 WHERE instance = %s AND n = 0",
            (what, book._key),
        )


@pytest.mark.parametrize("what", ["NaN", "Infinity", "1e30"])
def test_a_damaged_slot_read_from_the_store_is_a_plain_error_saying_how_to_clear_it(
    make_book: MakeBook, what: str
) -> None:
    book = make_book()
    assert book.take(claim("a", 1), T0).taken
    book.release("a", 1, window=WINDOW, sent=False, now=T0)
    _damage(book, what)
    with pytest.raises(LimiterUnavailable, match="damaged"):
        make_book().look(2, T0)  # apply's ETA reads it too: no NaN wait comes of it
    with pytest.raises(LimiterUnavailable, match="damaged") as caught:
        make_book().take(claim("b", 1), T0)
    # Following the message's own instructions clears the damage.
    message = str(caught.value)
    if isinstance(book, FileSlots):
        assert "delete the file" in message and str(book.path) in message
        book.path.unlink()
    else:
        import psycopg

        assert isinstance(book, PostgresSlots)
        statements = message.split("clear them: ", 1)[1]
        with psycopg.connect(book._url, autocommit=True) as conn:
            for statement in statements.split("; "):
                conn.execute(statement)
    assert make_book().take(claim("b", 1), T0).taken


def day_claim(owner: str, call: int, day: str | None) -> Claim:
    return Claim(
        owner=owner, call=call, capacity=9, concurrency=9, lease=LEASE, window=WINDOW, day=day
    )


def test_a_day_s_room_is_shared_and_a_call_takes_a_unit_with_its_slots_or_nothing(
    make_book: MakeBook,
) -> None:
    a, b = make_book(9, 9), make_book(9, 9)
    assert a.share_room("2026-07-01", 3, now=T0) == 3
    assert b.take(day_claim("b", 1, "2026-07-01"), T0).taken
    assert a.take(day_claim("a", 1, "2026-07-01"), T0).taken
    # Another run's read: the room is lowered to min(stored - its own read, fresh) = 0.
    assert b.share_room("2026-07-01", 5, now=T0) == 0
    grant = a.take(day_claim("a", 2, "2026-07-01"), T0)
    assert (grant.taken, grant.why) == (False, "room")
    # ... and took no slot: with 9 rate slots, 7 more calls without a day still fit.
    assert all(a.take(day_claim("a", n, None), T0).taken for n in range(3, 10))


def test_a_fresh_read_lowers_the_room_never_raises_it_and_a_new_day_starts_afresh(
    make_book: MakeBook,
) -> None:
    a, b = make_book(9, 9), make_book(9, 9)
    assert a.share_room("2026-07-01", 10, now=T0) == 10
    assert b.share_room("2026-07-01", 40, now=T0) == 9  # never raised; its own read taken
    assert b.share_room("2026-07-01", 4, now=T0) == 4  # a lower read wins
    assert a.share_room("2026-07-02", 1, now=T0) == 1  # Marketo's new day, a new room
    # A run that read yesterday spends today's room: its calls arrive today.
    assert b.take(day_claim("b", 1, "2026-07-01"), T0).taken
    assert b.take(day_claim("b", 2, "2026-07-01"), T0).why == "room"
