"""Marketo's instance-wide limits as slots that many processes take and give back.

>>> table = SlotTable()
>>> claim = Claim(owner="a", call=1, capacity=2, concurrency=1, lease=15.0, window=20.0)
>>> table.take(claim, now=100.0).taken
True
>>> grant = table.take(dataclasses.replace(claim, call=2), now=100.0)
>>> grant.taken, grant.why  # the one concurrency slot is in flight
(False, 'concurrency')

The accounting is the per-process ``limits.Limiter``'s, kept in rows that every process
reads (``shared_limits`` explains where: PostgreSQL or a file on this machine):

- ``capacity`` **rate slots**: a call takes one when it starts and holds it until one
  window after it *finished*.  While it is in flight its ``free_at`` is the end of its
  lease plus one window; when it finishes, its finish plus one window.  Marketo counts a
  call somewhere between our send and its answer, so a slot freed one window after the
  answer never overlaps Marketo's own sliding window (``Limiter``'s rule).
- ``concurrency`` **concurrency slots**: ``free_at`` is the end of the lease while the
  call is in flight, 0 once it returned.
- a **hold**: after a 606 (Marketo's window is full: another integration is spending
  it) no process takes a slot before ``hold_until``.

A slot is free when ``free_at <= now``; a call takes a rate slot and a concurrency slot
together, or neither.  Each taken slot carries its owner (one limiter, one process) and
the call's number, so only its owner renews or gives it back.  A process that dies stops
renewing: its concurrency slot is free when the lease ends, its rate slot one window
later, which is when it would have been free had the call ended as the process died.

Each process takes slots below its *own* ``capacity`` and ``concurrency`` only, so two
configs with different limits for one instance together never exceed the larger, and
the smaller never uses more than its own.  Slots are taken highest number first, so a
process with larger limits leaves the low numbers (the only ones a smaller one may use)
for as long as it can.

The **room** of a Marketo day (issue 24, ``plan.quota``): with ``quota_reserve``, a run may
make the calls today's usage leaves before the reserve.  Runs at once on one instance
share that room as they share the window, so it is kept here too, per Marketo day (the
``date`` of ``stats/usage.json``): a call whose claim names the day takes one unit of
it *together with* its rate slot, or neither; at 0 it takes nothing (``why`` ``room``:
kept home, never sent).  Each run's usage read *lowers* the stored room to what that
read leaves, never raises it: the read counts every call Marketo has seen, those of
other mktsync runs included, but not the ones in flight or too recent to show, which
the store has already taken off; so each value is a true upper bound of what is left,
and the lower of the two is too.  The read itself is a call the stored room did not
count, so it takes one unit first: ``min(stored - 1, fresh)``.  (This double-counts the
calls both saw: it errs towards the reserve, never into it.)  A read made when the room is
already 0 is the one call a run can send past it (its day is known only once it
answered); nothing follows it.  A day's room ends with the day: a read of a later day
drops the earlier ones, and a call of a run that read an earlier day takes from the newest
(Marketo counts it on the day it arrives).  A call that took a unit and was not sent does not give it
back: the room only ever errs towards the reserve.

``SlotTable`` is this model in memory (the file store loads and saves it); the PostgreSQL
store says the same in SQL, and ``tests/marketo/test_slots.py`` runs one scenario on both.
``wait_hint`` is shared: how long a process that got nothing should wait before it asks
again.  ``Window`` is what a store answers when asked how its rate slots stand (the ETA of
``apply``: ``shared_limits.SharedLimiter.seconds_for``).

**Times are finite and near.**  One slot whose ``free_at`` is NaN is never free (NaN
compares false) and makes every wait NaN; one at infinity waits forever or overflows the
clock -- for every process on the instance, not only the one that wrote it.  So no store
ever writes a time that is not finite (``check_times``: a lease, window or hold that is
not a finite number of seconds up to ``FAR`` raises ``LimiterUnavailable`` before
anything is written), and a store that *reads* one (an older or hostile process wrote
it, or someone edited the store) treats it as damage: ``LimiterUnavailable`` naming the
store and how to clear it, so the run stops before it sends, with a plain error, never
a hang.  Damage is refused rather than ignored because ignoring it would mean guessing
which calls of the instance's window its writer spent.  ``FAR`` (a day) is the bound:
Marketo's window is 20 s and its holds are seconds, so no true slot lies further ahead.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from mktsync.marketo.codes import LimiterUnavailable

# A call that is in flight frees its concurrency slot the moment it returns, which no
# store can foresee: a process waiting only for a concurrency slot asks again this often.
CONCURRENCY_POLL = 0.05
# A free slot another process was taking at that very instant (PostgreSQL's SKIP LOCKED):
# ask again almost at once.
BUSY_RETRY = 0.005

# No slot or hold lies further ahead than this (seconds); see "Times are finite and near".
FAR = 86400.0

Why = Literal["hold", "rate", "concurrency", "busy", "room"]


def check_times(store: str, **seconds: float) -> None:
    """Raise ``LimiterUnavailable`` unless every one of ``seconds`` (a lease, a window, a
    hold) is a finite number of seconds from 0 to ``FAR``: nothing else is written."""
    for what, value in seconds.items():
        if not (math.isfinite(value) and 0 <= value <= FAR):
            raise LimiterUnavailable(
                f"{store}: a {what} of {value!r} s is not a time the shared limits can "
                f"hold (a finite number of seconds up to {FAR:.0f}); nothing was written "
                "or sent"
            )


def far_off(value: float, now: float) -> bool:
    """A time read from a store that no process of this model writes: not finite, or
    more than ``FAR`` seconds after ``now``."""
    return not math.isfinite(value) or value > now + FAR


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One call asking for a slot: who asks, under which limits, for how long a lease."""

    owner: str  # one limiter: renews and gives back only its own slots
    call: int  # the call's number within its owner
    capacity: int  # rate slots this process may use (calls per window, less its margin)
    concurrency: int
    lease: float  # seconds a slot stays taken unless renewed
    window: float
    day: str | None = None  # the Marketo day whose room the call takes a unit of, if any


@dataclass(frozen=True, kw_only=True)
class Grant:
    """The answer to a ``Claim``: taken, or how long to wait and why."""

    taken: bool
    wait: float = 0.0
    why: Why | None = None


def wait_hint(
    *, now: float, hold_until: float, rate_next: float | None, concurrency_next: float | None
) -> Grant:
    """What a process that got no slot should do: wait out a hold, then the earliest rate
    slot's ``free_at``, else poll for a concurrency slot (``rate_next`` and
    ``concurrency_next``: the earliest ``free_at`` among the slots this process may use)."""
    if hold_until > now:
        return Grant(taken=False, wait=hold_until - now, why="hold")
    if rate_next is not None and rate_next > now:
        return Grant(taken=False, wait=rate_next - now, why="rate")
    if concurrency_next is not None and concurrency_next > now:
        return Grant(
            taken=False, wait=min(concurrency_next - now, CONCURRENCY_POLL), why="concurrency"
        )
    return Grant(taken=False, wait=BUSY_RETRY, why="busy")


@dataclass(frozen=True, kw_only=True)
class Window:
    """How the rate slots a process may use stand at ``now`` (a store's look, for the ETA):
    the ``free_at`` of each slot whose call finished and that is not yet free, soonest
    first, the number of slots whose call is in flight, and the hold."""

    now: float
    finished: tuple[float, ...] = ()
    in_flight: int = 0
    hold_until: float = 0.0

    def frees(self, *, latency: float, window: float, since: float = 0.0) -> list[float]:
        """Seconds until each slot taken frees, soonest first, ``since`` seconds after the
        look (``Limits.seconds_for``'s ``frees``): a finished call's at its ``free_at``, a
        call in flight's a latency and a window from now (its ``free_at`` counts its lease,
        not its answer), and none before the hold ends."""
        hold = max(0.0, self.hold_until - self.now - since)
        taken = [at - self.now - since for at in self.finished]
        taken += [latency + window - since] * self.in_flight
        return sorted(max(hold, seconds) for seconds in taken)

    def held(self, since: float = 0.0) -> float:
        """Seconds the hold (a 606's) still keeps every slot shut, ``since`` after the look."""
        return max(0.0, self.hold_until - self.now - since)


@dataclass
class Slot:
    free_at: float = 0.0
    owner: str | None = None
    call: int | None = None


@dataclass
class SlotTable:
    """The slots of one instance, in memory; see the module docstring."""

    rate: list[Slot] = field(default_factory=list)
    concurrency: list[Slot] = field(default_factory=list)
    hold_until: float = 0.0
    rooms: dict[str, int] = field(default_factory=dict)  # Marketo day -> calls left

    def take(self, claim: Claim, *, now: float) -> Grant:
        self._grow(claim.capacity, claim.concurrency)
        rate = self.rate[: claim.capacity]
        conc = self.concurrency[: claim.concurrency]
        if not self._room_left(claim.day):
            return Grant(taken=False, why="room")
        if self.hold_until <= now:
            r = _highest_free(rate, now)
            c = _highest_free(conc, now)
            if r is not None and c is not None:
                self._take_room(claim.day)
                rate[r] = Slot(
                    free_at=now + claim.lease + claim.window, owner=claim.owner, call=claim.call
                )
                conc[c] = Slot(free_at=now + claim.lease, owner=claim.owner, call=claim.call)
                self.rate[r], self.concurrency[c] = rate[r], conc[c]
                return Grant(taken=True)
        return wait_hint(
            now=now,
            hold_until=self.hold_until,
            rate_next=min(s.free_at for s in rate),
            concurrency_next=min(s.free_at for s in conc),
        )

    def renew(self, owner: str, *, now: float, lease: float, window: float) -> None:
        """Extend the leases of ``owner``'s calls in flight."""
        for slots, extra in ((self.rate, window), (self.concurrency, 0.0)):
            for slot in slots:
                if slot.owner == owner and slot.call is not None:
                    slot.free_at = now + lease + extra

    def release(self, owner: str, call: int, *, now: float, window: float, sent: bool) -> None:
        """Give back ``call``'s slots: its rate slot stays taken one window after ``now``
        when it was sent, and is free at once when it never left."""
        for i, slot in enumerate(self.rate):
            if slot.owner == owner and slot.call == call:
                self.rate[i] = Slot(free_at=now + window if sent else 0.0)
        for i, slot in enumerate(self.concurrency):
            if slot.owner == owner and slot.call == call:
                self.concurrency[i] = Slot()

    def look(self, capacity: int, *, now: float) -> Window:
        """How the ``capacity`` rate slots a process may use stand at ``now``."""
        rate = self.rate[:capacity]
        return Window(
            now=now,
            finished=tuple(sorted(s.free_at for s in rate if s.owner is None and s.free_at > now)),
            in_flight=sum(1 for s in rate if s.owner is not None and s.free_at > now),
            hold_until=self.hold_until,
        )

    def hold(self, *, now: float, seconds: float) -> None:
        self.hold_until = max(self.hold_until, now + seconds)

    def damaged(self, now: float) -> bool:
        """Whether a slot or the hold holds a time no process writes (``far_off``)."""
        times = [self.hold_until, *(s.free_at for s in (*self.rate, *self.concurrency))]
        return any(far_off(t, now) for t in times)

    # -- the day's room (see the module docstring) ----------------------------------------

    def share_room(self, day: str, room: int) -> int:
        """Lower ``day``'s room to ``room`` (a fresh usage read's), never raise it; drop
        earlier days.  Returns the room now left."""
        for old in [d for d in self.rooms if d < day]:
            del self.rooms[old]
        left = max(0, min(self.rooms[day] - 1, room) if day in self.rooms else room)
        self.rooms[day] = left
        return left

    def _room_of(self, day: str | None) -> str | None:
        """The room a call of ``day`` takes from: the newest stored day not before it (a
        run still sending after Marketo's day turned spends the new day's room)."""
        days = [d for d in self.rooms if day is not None and d >= day]
        return max(days) if days else None

    def _room_left(self, day: str | None) -> bool:
        room = self._room_of(day)
        return room is None or self.rooms[room] > 0

    def _take_room(self, day: str | None) -> None:
        room = self._room_of(day)
        if room is not None:
            self.rooms[room] -= 1

    def _grow(self, capacity: int, concurrency: int) -> None:
        self.rate.extend(Slot() for _ in range(capacity - len(self.rate)))
        self.concurrency.extend(Slot() for _ in range(concurrency - len(self.concurrency)))

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": [dataclasses.astuple(s) for s in self.rate],
            "concurrency": [dataclasses.astuple(s) for s in self.concurrency],
            "hold_until": self.hold_until,
            **({"rooms": self.rooms} if self.rooms else {}),
        }

    @classmethod
    def from_json(cls, data: Any) -> SlotTable:
        """The table saved by ``to_json``; ``ValueError`` when ``data`` is not one."""
        try:
            return cls(
                rate=[_slot(s) for s in data["rate"]],
                concurrency=[_slot(s) for s in data["concurrency"]],
                hold_until=float(data["hold_until"]),
                rooms=_rooms(data.get("rooms")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a table of slots ({type(exc).__name__})") from None


def _slot(row: Any) -> Slot:
    free_at, owner, call = row
    return Slot(
        free_at=float(free_at),
        owner=None if owner is None else str(owner),
        call=None if call is None else int(call),
    )


def _rooms(data: Any) -> dict[str, int]:
    """The days' rooms of a saved table (none in a table saved before issue 24's fix)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TypeError("rooms")
    return {str(day): int(left) for day, left in data.items()}


def _highest_free(slots: list[Slot], now: float) -> int | None:
    for i in range(len(slots) - 1, -1, -1):
        if slots[i].free_at <= now:
            return i
    return None
