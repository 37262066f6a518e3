"""One Marketo instance, many runners: limits every process on the instance draws from.

>>> limiter = open_limiter(limits, base_url=url, ledger_url=ledger_url)  # doctest: +SKIP
>>> with limiter.slot(stop):                                            # doctest: +SKIP
...     pass  # send one API call here

Marketo's limits -- 100 calls per 20 s, 10 calls in flight -- belong to the *instance*;
every integration spends them.  ``limits.Limiter`` keeps one process under them, so two
applies at once on one instance each spent the whole window and Marketo refused the
excess (606/615).  ``SharedLimiter`` keeps ``Limiter``'s accounting (a rate slot from a
call's start until one window after it finished; a concurrency slot while it is in flight;
the same capacity, ``calls * (1 - safety_margin)``) in a store every process reads:

- ``slots_postgres.PostgresSlots`` when the ledger is PostgreSQL, or when the config says
  ``limits.shared: ${MKTSYNC_LIMITS_URL}``: every process, on any machine, whose URL
  reaches that database and schema;
- ``slots_file.FileSlots`` otherwise (an SQLite ledger): every process of this user on
  this machine, so two jobs on one runner share.

Slots are keyed by the instance (``limiter_key``): two environments on two instances each
get their own.  ``slots`` states the model, and the stores how they keep it.

Invariants:

- **Never a private fallback.**  A store that cannot be reached when the run starts is an
  error before anything is sent (``LimiterUnavailable``, exit 1).  One lost later
  (``lost``) ends every wait and every later call in ``LimiterLost``: the call is not
  sent, the run stops (``apply`` exits 1, the rest *not attempted*), because a process
  that limits only itself would spend what the others were promised.  A call already in
  flight finishes and is recorded as usual.
- **Leases.**  A taken slot is leased for ``LEASE`` seconds and renewed every third of
  that by a thread of this limiter while its call is in flight, so a process killed with
  its calls in flight frees their concurrency slots within ``LEASE`` seconds and their
  rate slots one window later; a call may take as long as it likes while its process
  lives.
- **606 is everyone's.**  Marketo refusing a call for its rate window (``backoff``)
  means some other integration is spending the instance: the wait the client draws is
  written into the store as a hold, and every process waits it out before its next call.
- **Interruptible.**  A wait ends at once when ``stop`` is set (``NotSent``); given a
  ``Deadline`` (``limits.Limiter``'s API), a wait that would end after it ends now in
  ``DeadlineReached``, before the call took anything; a stop found once the slot is
  taken gives it back unsent.
- **The ETA sees the instance.**  ``seconds_for`` and ``window_wait`` answer from the
  store's slots as they stand (their ``free_at``, the calls in flight, the hold: every
  process's) and this process's measured latency, in ``Limits.seconds_for``'s model,
  as ``limits.Limiter`` does for one process; the store is read at most every
  ``LOOK_EVERY`` seconds, and a store that cannot be read leaves the plan's model.
- **One room per day.**  With ``quota_reserve``, the room today's usage leaves before the
  reserve is the instance's too: ``share_room`` keeps it in the store, per Marketo day,
  lowered by each run's usage read and never raised (``slots`` states the rule and why
  it is safe), and every later call takes one unit of it in the same step as its rate
  slot.  A call that finds none left is kept home (``ReserveReached``, exit 4), so runs
  at once together never start a call past the room.
- **One asker per process.**  Threads of one process ask the store one at a time (the
  others wait their turn here), so each process is one contender however many workers
  it runs: no thundering herd at the moment a slot comes free, and a fair share for
  each process.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import httpx

from mktsync.config.model import Limits
from mktsync.marketo.client import instance_host, instance_root
from mktsync.marketo.codes import DeadlineReached, LimiterLost, LimiterUnavailable, NotSent
from mktsync.marketo.limits import LATENCY_WEIGHT, STOP_POLL, capacity_of
from mktsync.marketo.slots import Claim, Grant, Window
from mktsync.marketo.stats import ClientStats
from mktsync.marketo.stop import Deadline, Stop
from mktsync.marketo.usage import CallBudget, ReserveReached

LEASE = 15.0  # seconds a slot stays taken without renewal; renewed every LEASE / 3
# Waking a hair after a slot's free_at, never a hair before it (the clocks of this
# machine and the store's tick apart).
WAKE_LATE = 0.002
LOOK_EVERY = 1.0  # seconds one read of the store's slots serves the ETA
THROTTLE_CODES = frozenset({"606"})  # a refusal that speaks for the whole instance


class SlotBook(Protocol):
    """A store of one instance's slots (``slots``' model): PostgreSQL or a file.

    ``now`` is None for the store's own clock, or a time from an injected clock (tests);
    every method raises ``LimiterUnavailable`` when the store cannot be reached.
    """

    name: str

    def take(self, claim: Claim, now: float | None) -> Grant: ...
    def renew(self, owner: str, *, lease: float, window: float, now: float | None) -> None: ...
    def release(
        self, owner: str, call: int, *, window: float, sent: bool, now: float | None
    ) -> None: ...
    def hold(self, seconds: float, *, code: str, now: float | None) -> None: ...
    def look(self, capacity: int, now: float | None) -> Window: ...
    def share_room(self, day: str, room: int, *, now: float | None) -> int: ...
    def close(self) -> None: ...


def limiter_key(base_url: str) -> str:
    """The instance whose limits a call spends: ``marketo.client.instance_host``, except
    that an emulator on this machine is one instance per port (each has its own limits).

    >>> limiter_key("https://123-ABC-456.mktorest.com/rest"), limiter_key("http://127.0.0.1:8080")
    ('123-abc-456.mktorest.com', 'localhost:8080')
    """
    host = instance_host(base_url)
    if host == "localhost":
        url = httpx.URL(instance_root(base_url))
        return f"localhost:{url.port or (443 if url.scheme == 'https' else 80)}"
    return host.lower()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_limiter(
    limits: Limits,
    *,
    base_url: str,
    ledger_url: str,
    shared_url: str | None = None,
    stats: ClientStats | None = None,
) -> SharedLimiter:
    """The limiter of ``mktsync apply`` for the instance at ``base_url``: in PostgreSQL
    when ``shared_url`` (``limits.shared``) is given or the ledger is PostgreSQL, else
    in this machine's file.  Raises ``LimiterUnavailable`` (nothing sent)."""
    from mktsync.marketo.slots_file import FileSlots, runtime_dir
    from mktsync.marketo.slots_postgres import PostgresSlots

    key = limiter_key(base_url)
    url = shared_url or (ledger_url if is_postgres(ledger_url) else None)
    book: SlotBook
    if url is not None:
        book = PostgresSlots(url, key, capacity=capacity_of(limits), concurrency=limits.concurrency)
    else:
        book = FileSlots(runtime_dir(), key)
    return SharedLimiter(book, limits, stats=stats)


class SharedLimiter:
    """A ``limits.CallLimiter`` whose slots live in a ``SlotBook``; see the module docstring.

    ``clock`` (seconds, the store's times) and ``sleep`` replace time in tests; without
    them the store's own clock decides.  A ``Deadline`` given to ``slot`` keeps its own
    clock.  Close it when done (``close`` or
    ``with``): it stops the renewal thread and the store's connection.
    """

    def __init__(
        self,
        book: SlotBook,
        limits: Limits | None = None,
        *,
        stats: ClientStats | None = None,
        lease: float = LEASE,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        limits = limits or Limits()
        self.limits = limits
        self.capacity = capacity_of(limits)
        self.window = float(limits.window_seconds)
        self.stats = stats or ClientStats()
        self.book = book
        self.lease = lease
        self.owner = f"{socket.gethostname()[:60]}/{os.getpid()}/{uuid.uuid4().hex[:12]}"
        self._clock = clock
        self._timer = clock or time.monotonic
        self._sleep = sleep
        self._numbers = itertools.count(1)
        self._local = threading.BoundedSemaphore(limits.concurrency)
        self._gate = threading.Lock()  # one thread of this process asks the store at a time
        self._state = threading.Lock()
        self._in_flight: set[int] = set()
        self._lost: str | None = None
        self._closed = threading.Event()
        self._renewer: threading.Thread | None = None
        self._latency: float | None = None  # a moving average of this process's calls
        self._look: tuple[Window, float] | None = None  # the last look, and when (_timer)
        # This process's calls since that look: when each finished (_timer), None while in
        # flight; what the look cannot know yet, so the ETA sees its own calls at once.
        self._mine: dict[int, float | None] = {}
        self._room: CallBudget | None = None  # the day's shared room, once shared
        self._day: str | None = None

    def __repr__(self) -> str:
        return (
            f"SharedLimiter({self.book.name}, capacity={self.capacity}, window={self.window}, "
            f"concurrency={self.limits.concurrency})"
        )

    def __enter__(self) -> SharedLimiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def lost(self) -> str | None:
        """Why this limiter can no longer promise anything (the store is gone), or None."""
        return self._lost

    @contextmanager
    def slot(self, stop: Stop | None = None, deadline: Deadline | None = None) -> Iterator[None]:
        """Hold one concurrency slot and one rate slot of the instance for one API call."""
        self._check(stop, deadline)
        self._acquire_local(stop, deadline)
        try:
            call = self._take(stop, deadline)
            if stop is not None and stop.is_set():
                self._give_back(call, sent=False)
                raise NotSent("stopped before the call was sent")
            started = self._timer()
            try:
                yield
            finally:
                self._measure(self._timer() - started)
                self._give_back(call, sent=True)
        finally:
            self._local.release()

    def backoff(self, code: str, seconds: float) -> None:
        """Marketo refused a call with ``code``; the caller waits ``seconds`` before it
        resends.  A 606 is written as a hold every process waits out (a 615 is only
        this call's: concurrency frees as calls return)."""
        if code not in THROTTLE_CODES or self._lost:
            return
        try:
            self.book.hold(seconds, code=code, now=self._now())
        except LimiterUnavailable as exc:
            self._lose(str(exc))

    def seconds_for(self, calls: int) -> float:
        """How long ``calls`` more calls will take from now: the instance's window as the
        store has it, this process's measured latency, in ``Limits.seconds_for``'s model."""
        seen = self._window()
        latency = self._latency or 0.0
        if seen is None:
            return self.limits.seconds_for(calls, latency=latency)
        window, since = seen
        frees = window.frees(latency=latency, window=self.window, since=since)
        seconds = self.limits.seconds_for(calls, latency=latency, frees=frees)
        held = window.held(since)
        return max(seconds, held + latency) if calls > 0 and held > 0 else seconds

    def window_wait(self) -> float:
        """Seconds until the instance's window has a slot for this process's next call
        (a hold first), as the store has it; 0 when one is free or the store is unread."""
        seen = self._window()
        if seen is None:
            return 0.0
        window, since = seen
        frees = window.frees(latency=self._latency or 0.0, window=self.window, since=since)
        next_free = frees[len(frees) - self.capacity] if len(frees) >= self.capacity else 0.0
        return max(window.held(since), next_free)

    def share_room(self, day: str, room: int) -> CallBudget:
        """Keep ``day``'s room in the store, lowered to ``room`` (this run's usage read),
        and from now on take one unit of it with every call's rate slot.  The budget's
        ``allowed`` is what is left for every run on the instance; ``reached`` turns True
        when a call of this process found none left.  Raises ``LimiterLost``."""
        if self._lost:
            raise LimiterLost(self._lost)
        try:
            left = self.book.share_room(day, room, now=self._now())
        except LimiterUnavailable as exc:
            self._lose(str(exc))
            raise LimiterLost(str(self._lost)) from None
        with self._state:
            self._room, self._day = CallBudget(left, shared=True), day
            return self._room

    def renew(self) -> None:
        """Extend the leases of this process's calls in flight (the renewal thread's job)."""
        with self._state:
            if not self._in_flight or self._lost:
                return
        try:
            self.book.renew(self.owner, lease=self.lease, window=self.window, now=self._now())
        except LimiterUnavailable as exc:
            self._lose(str(exc))

    def close(self) -> None:
        self._closed.set()
        renewer = self._renewer
        if renewer is not None and renewer is not threading.current_thread():
            renewer.join(timeout=5.0)
        self.book.close()

    # -- inside --------------------------------------------------------------------------

    def _now(self) -> float | None:
        return None if self._clock is None else self._clock()

    def _check(self, stop: Stop | None, deadline: Deadline | None) -> None:
        if self._lost is not None:
            raise LimiterLost(self._lost)
        if stop is not None and stop.is_set():
            raise NotSent("stopped while waiting for the shared rate window")
        if deadline is not None and deadline.remaining() <= 0:
            raise DeadlineReached("no slot of the shared limits came free before the deadline")

    def _acquire_local(self, stop: Stop | None, deadline: Deadline | None) -> None:
        while not self._local.acquire(timeout=_poll(deadline)):
            self._check(stop, deadline)

    def _take(self, stop: Stop | None, deadline: Deadline | None) -> int:
        start = self._timer()
        waited = False
        try:
            while not self._gate.acquire(timeout=_poll(deadline)):
                waited = True
                self._check(stop, deadline)
            try:
                while True:
                    self._check(stop, deadline)
                    call = next(self._numbers)
                    claim = Claim(
                        owner=self.owner,
                        call=call,
                        capacity=self.capacity,
                        concurrency=self.limits.concurrency,
                        lease=self.lease,
                        window=self.window,
                        day=self._day,
                    )
                    try:
                        grant = self.book.take(claim, self._now())
                    except LimiterUnavailable as exc:
                        self._lose(str(exc))
                        raise LimiterLost(str(self._lost)) from None
                    if grant.why == "room":
                        self._room_spent()
                    if grant.taken:
                        with self._state:
                            self._in_flight.add(call)
                            self._mine[call] = None
                        self._start_renewer()
                        return call
                    waited = True
                    if deadline is not None and grant.wait > deadline.remaining():
                        # Waiting could only end after the deadline: give up now.
                        raise DeadlineReached(
                            f"the next slot in the rate window frees in {grant.wait:.1f} s"
                        )
                    self._pause(grant.wait + WAKE_LATE, stop, deadline)
            finally:
                self._gate.release()
        finally:
            if waited:
                self.stats.throttled(self._timer() - start)

    def _room_spent(self) -> None:
        room = self._room
        assert room is not None, "only a claim that names a day finds its room spent"
        room.reached = True
        raise ReserveReached(
            f"the room today's quota leaves the mktsync runs on this instance is spent "
            f"({self.book.name})"
        )

    def _pause(self, seconds: float, stop: Stop | None, deadline: Deadline | None) -> None:
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline.remaining()))
        if self._sleep is not None:
            self._sleep(seconds)
        elif stop is not None:
            stop.wait(seconds)
        else:
            time.sleep(seconds)

    def _measure(self, seconds: float) -> None:
        with self._state:
            # Recent calls weigh most, as in ``limits.Limiter``.
            last = self._latency
            self._latency = seconds if last is None else last + LATENCY_WEIGHT * (seconds - last)

    def _window(self) -> tuple[Window, float] | None:
        """The store's slots as last read, with this process's calls since, and the
        seconds since; read again when older than ``LOOK_EVERY``.  None when the store
        cannot be read (the next call's take says so, and stops the run: the ETA never
        does)."""
        now = self._timer()
        with self._state:
            look = self._look
        if look is None or now - look[1] >= LOOK_EVERY:
            if self._lost:
                return None
            with self._state:
                self._mine.clear()  # before the read: a call taken meanwhile is in both
            try:
                window = self.book.look(self.capacity, self._now())
            except LimiterUnavailable:
                return None
            look = (window, self._timer())
            with self._state:
                self._look = look
        window, at = look
        with self._state:
            mine = list(self._mine.values())
        # The store's clock is not ours: a finish ``f`` (ours) is ``window.now + f - at``.
        finished = [window.now + f - at + self.window for f in mine if f is not None]
        window = dataclasses.replace(
            window,
            finished=tuple(sorted([*window.finished, *finished])),
            in_flight=window.in_flight + sum(1 for f in mine if f is None),
        )
        return window, max(0.0, self._timer() - at)

    def _give_back(self, call: int, *, sent: bool) -> None:
        with self._state:
            self._in_flight.discard(call)
            now = self._timer()
            if sent and call in self._mine:
                self._mine[call] = now
            else:
                self._mine.pop(call, None)
            for old in [
                c for c, f in self._mine.items() if f is not None and f + self.window < now
            ]:
                del self._mine[old]  # its slot is free: nothing left to count
        if self._lost:
            return  # the store is gone: the lease ends on its own
        try:
            self.book.release(self.owner, call, window=self.window, sent=sent, now=self._now())
        except LimiterUnavailable as exc:
            # Never raised here: the call's own outcome must reach the ledger.  No call
            # starts after this one (``lost``), and its slots come free with the lease.
            self._lose(str(exc))

    def _lose(self, why: str) -> None:
        with self._state:
            if self._lost is None:
                self._lost = f"the shared limiter ({why})"

    def _start_renewer(self) -> None:
        with self._state:
            if self._renewer is not None or self._closed.is_set():
                return
            self._renewer = threading.Thread(
                target=self._renew_until_closed, name="limits-lease", daemon=True
            )
            self._renewer.start()

    def _renew_until_closed(self) -> None:
        while not self._closed.wait(self.lease / 3):
            self.renew()


def _poll(deadline: Deadline | None) -> float:
    """How long a wait for this process's turn looks away from its stop and deadline."""
    return STOP_POLL if deadline is None else max(0.0, min(STOP_POLL, deadline.remaining()))
