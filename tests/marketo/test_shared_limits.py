"""The shared limiter: the private limiter's accounting, kept where every process reads it;
leases, the 606 hold, stops and deadlines, and what happens when its store goes away."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from mktsync.config.model import Limits
from mktsync.marketo.codes import DeadlineReached, LimiterLost, LimiterUnavailable, NotSent
from mktsync.marketo.limits import Limiter
from mktsync.marketo.shared_limits import (
    LEASE,
    SharedLimiter,
    limiter_key,
    open_limiter,
)
from mktsync.marketo.slots_file import FileSlots
from mktsync.marketo.slots_postgres import PostgresSlots
from mktsync.marketo.stop import Deadline, Stop


class FakeTime:
    """A clock that only moves when someone sleeps (as in test_marketo_limits)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


def shared(folder: Path, limits: Limits, fake: FakeTime | None = None) -> SharedLimiter:
    book = FileSlots(folder, "123-abc-456.mktorest.com")
    if fake is None:
        return SharedLimiter(book, limits)
    return SharedLimiter(book, limits, clock=fake.clock, sleep=fake.sleep)


def test_it_keeps_the_private_limiters_accounting(folder: Path) -> None:
    """The same calls (each a second long) start at the same times through either: a slot
    taken at a call's start, free one window after its finish."""
    limits = Limits(calls=3, window_seconds=10.0, concurrency=2)
    starts: dict[str, list[float]] = {}
    for name in ("private", "shared"):
        fake = FakeTime()
        limiter = (
            Limiter(limits, clock=fake.clock, sleep=fake.sleep)
            if name == "private"
            else shared(folder, limits, fake)
        )
        starts[name] = []
        for _ in range(8):
            with limiter.slot():
                starts[name].append(fake.now - 1000.0)
                fake.now += 1.0
    assert starts["private"] == [0, 1, 2, 11, 12, 13, 22, 23]
    assert starts["shared"] == pytest.approx(starts["private"], abs=0.01)


def test_the_eta_sees_the_instance_s_window_as_a_private_limiter_sees_its_own(
    folder: Path,
) -> None:
    """apply's ETA (``seconds_for``) and its wait (``window_wait``) count every process's
    slots, in the private limiter's model: the same calls, the same answer."""
    limits = Limits(calls=10, window_seconds=20, concurrency=2, safety_margin=0.0)
    fake = FakeTime()
    one, other = shared(folder, limits, fake), shared(folder, limits, fake)
    private = Limiter(limits, clock=fake.clock, sleep=fake.sleep)
    for limiter in (one, private):
        for _ in range(6):
            with limiter.slot():
                pass
    fake.now += 5
    for limiter in (other, private):
        for _ in range(4):
            with limiter.slot():
                pass
    # The window is full: the first six slots free 15 s from now, the other four 20 s.
    assert one.seconds_for(3) == private.seconds_for(3) == pytest.approx(15.0)
    assert one.seconds_for(7) == private.seconds_for(7) == pytest.approx(20.0)
    assert one.window_wait() == private.window_wait() == pytest.approx(15.0)
    assert one.seconds_for(0) == 0.0
    # Its own calls count at once, before the next look at the store.
    fake.now += 15
    assert one.window_wait() == 0.0  # six slots free now (a second look)
    with one.slot():
        pass
    assert one.seconds_for(6) == pytest.approx(5.0)  # five free slots, then the wait
    # Another process's 606 holds everyone: the ETA waits it out.
    other.backoff("606", 30.0)
    fake.now += 1  # the next look
    assert one.window_wait() == pytest.approx(29.0)
    assert one.seconds_for(1) >= 29.0


def test_processes_draw_from_one_window(folder: Path) -> None:
    limits = Limits(calls=4, window_seconds=10.0, concurrency=4)
    fake = FakeTime()
    one, two = shared(folder, limits, fake), shared(folder, limits, fake)
    with ExitStack() as held:
        for limiter in (one, two, one, two):
            held.enter_context(limiter.slot())
        assert fake.now == 1000.0  # four calls in flight, none waited
    with two.slot():
        # Every slot of the instance was taken by the four: one window after they ended.
        assert fake.now == pytest.approx(1010.0, abs=0.01)
    assert two.stats.snapshot().throttled_waits == 1


def test_a_dead_process_s_slots_come_free_with_its_lease(folder: Path) -> None:
    limits = Limits(calls=10, window_seconds=20.0, concurrency=1)
    fake = FakeTime()
    dead, alive = shared(folder, limits, fake), shared(folder, limits, fake)
    in_flight = dead.slot()
    in_flight.__enter__()  # its call is in flight when the process dies: never released
    with alive.slot():
        assert fake.now == pytest.approx(1000.0 + LEASE, abs=0.01)
    assert in_flight is not None  # (held until here: a dropped one would give back its slot)
    dead.close()


def test_a_long_call_keeps_its_slot_while_its_process_lives(folder: Path) -> None:
    """The lease is renewed while the call is in flight: nobody takes its concurrency slot
    however long it takes (real time, a short lease)."""
    limits = Limits(calls=10, window_seconds=1.0, concurrency=1)
    slow = SharedLimiter(FileSlots(folder, "k"), limits, lease=0.6)
    other = SharedLimiter(FileSlots(folder, "k"), limits, lease=0.6)
    events: list[str] = []
    with slow.slot():
        waiter = threading.Thread(target=lambda: _one_call(other, events))
        waiter.start()
        time.sleep(2.0)  # three leases long
        events.append("slow returned")
    waiter.join(timeout=10)
    assert events == ["slow returned", "other started"]
    slow.close()
    other.close()


def _one_call(limiter: SharedLimiter, events: list[str]) -> None:
    with limiter.slot():
        events.append("other started")


def test_a_606_makes_every_process_back_off(folder: Path) -> None:
    limits = Limits(calls=100, window_seconds=20.0, concurrency=10)
    fake = FakeTime()
    hit, other = shared(folder, limits, fake), shared(folder, limits, fake)
    hit.backoff("615", 5.0)  # concurrency: only the refused call waits
    with other.slot():
        assert fake.now == 1000.0
    hit.backoff("606", 3.0)  # the instance's window is full: everyone waits
    with other.slot():
        assert fake.now == pytest.approx(1003.0, abs=0.01)


def test_a_stop_ends_a_wait_and_nothing_is_taken(folder: Path) -> None:
    limits = Limits(calls=1, window_seconds=60.0, concurrency=1)
    first, second = shared(folder, limits), shared(folder, limits)
    with first.slot():
        pass  # the instance's one rate slot is now busy for a minute
    stop = Stop()
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            with second.slot(stop):
                pass
        except NotSent as exc:
            raised.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)
    stop.set()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert len(raised) == 1 and "stopped" in str(raised[0])
    table = FileSlots(folder, "123-abc-456.mktorest.com").table()
    assert [s.owner for s in table.rate + table.concurrency] == [None, None]
    first.close()
    second.close()


def test_a_deadline_ends_a_wait(folder: Path) -> None:
    limits = Limits(calls=1, window_seconds=60.0, concurrency=1)
    fake = FakeTime()
    limiter = shared(folder, limits, fake)
    with limiter.slot():
        pass
    # The slot frees in 60 s, after the deadline: no wait at all (as ``Limiter`` does).
    soon = Deadline.after(5.0, clock=fake.clock)
    with pytest.raises(DeadlineReached, match=r"frees in 60\.0 s"), limiter.slot(None, soon):
        pass
    assert fake.now == pytest.approx(1000.0)
    # A deadline past the slot's freeing waits for it and sends.
    with limiter.slot(None, Deadline.after(61.0, clock=fake.clock)):
        pass
    assert fake.now == pytest.approx(1060.0, abs=0.01)
    # A spent deadline ends the wait before the store is asked.
    with pytest.raises(DeadlineReached), limiter.slot(None, Deadline(at=0.0, clock=fake.clock)):
        pass


@pytest.fixture
def doomed_database(postgres_admin_url: str) -> Iterator[tuple[str, str]]:
    """A database this test may drop while a limiter uses it: (its URL, its name)."""
    import psycopg

    name = f"mktsync_lost_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_admin_url.rpartition("/")[0] + "/" + name, name
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_lost_database_stops_every_later_call_never_a_private_limiter(
    doomed_database: tuple[str, str], postgres_admin_url: str
) -> None:
    import psycopg

    url, name = doomed_database
    limits = Limits(calls=100, window_seconds=20.0, concurrency=10)
    limiter = open_limiter(limits, base_url="https://123-ABC-456.mktorest.com", ledger_url=url)
    assert isinstance(limiter.book, PostgresSlots)
    with limiter.slot():
        # The database goes away while a call is in flight ...
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    # ... the call's own end is not disturbed (its outcome must reach the ledger), but
    # nothing starts after it, now or later.
    assert limiter.lost is not None and "cannot be reached" in limiter.lost
    for _ in range(2):
        with pytest.raises(LimiterLost, match="the shared limiter"), limiter.slot():
            pass
    assert LimiterLost.exit_code == 1
    limiter.close()


def test_an_unreachable_database_is_an_error_before_anything_is_sent(folder: Path) -> None:
    url = "postgresql://ci:s3cret@127.0.0.1:1/mktsync"  # nothing listens on port 1
    with pytest.raises(LimiterUnavailable) as caught:
        open_limiter(Limits(), base_url="https://123-ABC-456.mktorest.com", ledger_url=url)
    message = str(caught.value)
    assert "cannot be reached" in message and "postgresql://ci:***@127.0.0.1:1/mktsync" in message
    assert "s3cret" not in message


def test_the_store_follows_the_ledger_unless_limits_shared_names_one(
    folder: Path, postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    base = "https://123-ABC-456.mktorest.com"
    with open_limiter(Limits(), base_url=base, ledger_url="sqlite:///x.db") as limiter:
        assert isinstance(limiter.book, FileSlots)
        assert limiter.book.path == folder / "mktsync" / "limits-123-abc-456.mktorest.com.json"
    with open_limiter(Limits(), base_url=base, ledger_url=postgres_database) as limiter:
        assert isinstance(limiter.book, PostgresSlots)
    with open_limiter(
        Limits(), base_url=base, ledger_url="sqlite:///x.db", shared_url=postgres_database
    ) as limiter:
        assert isinstance(limiter.book, PostgresSlots)


def test_one_instance_one_key_and_each_emulator_its_own() -> None:
    assert limiter_key("https://123-ABC-456.mktorest.com/rest/") == "123-abc-456.mktorest.com"
    assert limiter_key("https://123-abc-456.mktorest.com") == "123-abc-456.mktorest.com"
    assert limiter_key("http://127.0.0.1:8080") != limiter_key("http://127.0.0.1:8081")


def test_a_runtime_folder_others_may_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"
    (runtime / "mktsync").mkdir(parents=True)
    (runtime / "mktsync").chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with pytest.raises(LimiterUnavailable, match="not this user's alone"):
        open_limiter(Limits(), base_url="https://a.mktorest.com", ledger_url="sqlite:///x.db")
