"""One limiter per run: Marketo's calls-per-window and concurrent-calls limits, client side.

>>> limiter = Limiter(Limits(calls=10, window_seconds=1.0, concurrency=2))
>>> with limiter.slot():
...     pass  # send one API call here
>>> limiter.capacity
10

Marketo counts every call of the instance (all integrations together) in a *sliding*
20 s window and refuses with 606 past 100, and with 615 past 10 calls in flight.
The limiter keeps this run under ``calls * (1 - safety_margin)`` and ``concurrency``.
Identity calls are not counted by Marketo, so they do not take a rate slot.

A call waiting for its slot can be stopped (``slot(stop)``): it then raises ``NotSent``
within a fraction of a second of ``stop.set()`` and never takes the slot, so a cancelled
run sends nothing that was still waiting (issue 21).  A call given a ``Deadline``
(``slot(stop, deadline)``) never waits past it: when its slot would come later, it raises
``DeadlineReached`` at once, so a read's time budget includes its waits for the limiter.

This limiter keeps its window in memory, for one process.  ``mktsync apply`` draws from
one window and one set of concurrency slots shared by every process that talks to the
same instance (``shared_limits.SharedLimiter``, issue 24); both satisfy ``CallLimiter``,
which is all the client asks of a limiter, and the shared one keeps this one's accounting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from mktsync.config.model import Limits
from mktsync.marketo.codes import DeadlineReached, NotSent
from mktsync.marketo.stats import ClientStats
from mktsync.marketo.stop import Deadline, Stop
from mktsync.marketo.usage import CallBudget

# How long a stoppable wait that no clock can end (every slot in flight, no free
# concurrency place) sleeps between looks at its stop: a stop takes effect within it.
STOP_POLL = 0.05
LATENCY_WEIGHT = 0.2  # of the latest call in the measured latency's moving average


def capacity_of(limits: Limits) -> int:
    """Calls this run may have in one window: ``calls`` less its ``safety_margin``."""
    return limits.capacity  # the one rule, beside the time model the plan and ETA share


class CallLimiter(Protocol):
    """What the client asks of a limiter (``Limiter`` here, ``SharedLimiter`` across
    processes): a slot per API call, news of Marketo's throttling, whether it can still
    promise anything (``lost``: why not, or None), and, for apply's ETA, how long calls
    will take with the window as it stands (``seconds_for``) and how long the next call
    waits for it (``window_wait``)."""

    stats: ClientStats

    def slot(
        self, stop: Stop | None = None, deadline: Deadline | None = None
    ) -> AbstractContextManager[None]: ...

    def backoff(self, code: str, seconds: float) -> None: ...

    def share_room(self, day: str, room: int) -> CallBudget | None: ...

    @property
    def lost(self) -> str | None: ...

    def seconds_for(self, calls: int) -> float: ...

    def window_wait(self) -> float: ...


class Limiter:
    """Thread-safe sliding-window rate limit plus a concurrency semaphore.

    A call takes a slot when it starts and keeps it until ``window_seconds`` after it
    *finished*.  Counting from the finish rather than the start is deliberate: Marketo
    timestamps a call somewhere between our send and its answer, so a slot freed one
    window after our answer can never overlap Marketo's own window, whatever the latency.

    ``clock`` and ``sleep`` may be replaced in tests; with a custom ``sleep`` the limiter
    sleeps through it instead of waiting on its condition variable.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        stats: ClientStats | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        limits = limits or Limits()
        if limits.calls < 1 or limits.concurrency < 1 or limits.window_seconds <= 0:
            raise ValueError("limits: calls, concurrency and window_seconds must be positive")
        if not 0.0 <= limits.safety_margin < 1.0:
            raise ValueError("limits: safety_margin must be in [0, 1)")
        self.limits = limits
        self.capacity = capacity_of(limits)
        self.window = float(limits.window_seconds)
        self.stats = stats or ClientStats()
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition(threading.Lock())
        self._finished: deque[float] = deque()  # finish times of calls still in the window
        self._in_flight = 0
        self._concurrency = threading.BoundedSemaphore(limits.concurrency)
        self._latency: float | None = None  # a moving average of calls' durations, measured

    def __repr__(self) -> str:
        return (
            f"Limiter(capacity={self.capacity}, window={self.window}, "
            f"concurrency={self.limits.concurrency})"
        )

    def share_room(self, day: str, room: int) -> CallBudget | None:
        """None: this limiter is this process's alone, so the day's room is too (the
        client counts it in a ``CallBudget`` of its own)."""
        return None

    @contextmanager
    def slot(self, stop: Stop | None = None, deadline: Deadline | None = None) -> Iterator[None]:
        """Hold one concurrency place and one rate slot for the duration of an API call.

        With ``stop``, waiting for either ends in ``NotSent`` as soon as the stop is set,
        and so does a stop found set once both are held: the call has not left.  With
        ``deadline``, a wait that would end after it ends now in ``DeadlineReached``.
        """
        self._acquire_concurrency(stop, deadline)
        try:
            self._acquire_rate(stop, deadline)
            if stop is not None and stop.is_set():
                self._cancel_rate()
                raise NotSent("stopped before the call was sent")
            started = self._clock()
            try:
                yield
            finally:
                self._release_rate(self._clock() - started)
        finally:
            self._concurrency.release()

    def backoff(self, code: str, seconds: float) -> None:
        """Marketo refused a call with ``code`` (606, 615) and the caller waits ``seconds``
        before it resends: this run's own calls back off in the caller; nobody else
        draws from this window, so there is nobody to tell."""

    @property
    def lost(self) -> str | None:
        """Always None: a limiter in memory cannot be lost."""
        return None

    def used(self) -> int:
        """Slots taken now (calls in flight plus calls finished within the window)."""
        with self._cond:
            self._prune(self._clock())
            return self._in_flight + len(self._finished)

    def seconds_for(self, calls: int) -> float:
        """How long ``calls`` more calls will take from now: the window's state (when each
        slot taken frees), the limits and the calls' measured latency, in the one model the
        plan's estimate uses (``Limits.seconds_for``)."""
        with self._cond:
            now = self._clock()
            self._prune(now)
            latency = self._latency or 0.0
            # Finished calls free their slots a window after they finished (in that order);
            # calls in flight, a latency and a window from now.
            frees = [done + self.window - now for done in self._finished]
            frees += [latency + self.window] * self._in_flight
        return self.limits.seconds_for(calls, latency=latency, frees=frees)

    def window_wait(self) -> float:
        """Seconds until the rate window has a slot for the next call: 0 when one is free
        now; a window when every slot's call is still in flight."""
        with self._cond:
            now = self._clock()
            self._prune(now)
            if self._in_flight + len(self._finished) < self.capacity:
                return 0.0
            return self._finished[0] + self.window - now if self._finished else self.window

    def _prune(self, now: float) -> None:
        while self._finished and self._finished[0] + self.window <= now:
            self._finished.popleft()

    def _acquire_concurrency(self, stop: Stop | None, deadline: Deadline | None = None) -> None:
        if stop is None and deadline is None:
            self._concurrency.acquire()
            return
        while not self._concurrency.acquire(timeout=_poll(deadline)):
            if stop is not None and stop.is_set():
                raise NotSent("stopped while waiting for a free concurrency place")
            if deadline is not None and deadline.remaining() <= 0:
                raise DeadlineReached("no concurrency place came free before the deadline")

    def _acquire_rate(self, stop: Stop | None = None, deadline: Deadline | None = None) -> None:
        waited = 0.0
        try:
            with self._cond:
                while True:
                    if stop is not None and stop.is_set():
                        raise NotSent("stopped while waiting for the rate window")
                    now = self._clock()
                    self._prune(now)
                    if self._in_flight + len(self._finished) < self.capacity:
                        self._in_flight += 1
                        break
                    if self._finished:
                        wait: float | None = self._finished[0] + self.window - now
                    else:
                        wait = None  # every slot is in flight: a finish will notify us
                    left = None if deadline is None else deadline.remaining()
                    if left is not None and (left <= 0 or (wait is not None and wait > left)):
                        # Waiting could only end after the deadline: give up now.
                        raise DeadlineReached(
                            "no slot in the rate window frees before the deadline"
                            if wait is None or left <= 0
                            else f"the next slot in the rate window frees in {wait:.1f} s"
                        )
                    start = self._clock()
                    if self._sleep is not None and wait is not None:
                        self._cond.release()
                        try:
                            self._sleep(wait)
                        finally:
                            self._cond.acquire()
                    elif stop is not None and wait is not None:
                        # Only time frees a slot here (a finish turns one taken slot into
                        # another), so the stop is all there is to wake for.
                        self._cond.release()
                        try:
                            stop.wait(wait)
                        finally:
                            self._cond.acquire()
                    elif stop is not None:
                        self._cond.wait(STOP_POLL if left is None else min(STOP_POLL, left))
                    else:
                        self._cond.wait(wait if wait is not None else left)
                    waited += self._clock() - start
        finally:
            if waited > 0:
                self.stats.throttled(waited)

    def _cancel_rate(self) -> None:
        """Give back a rate slot whose call was never sent: no finish to count."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def _release_rate(self, seconds: float) -> None:
        with self._cond:
            # Recent calls weigh most: Marketo's answers slow down and speed up over a run.
            last = self._latency
            self._latency = seconds if last is None else last + LATENCY_WEIGHT * (seconds - last)
            self._in_flight -= 1
            self._finished.append(self._clock())
            self._cond.notify_all()


def _poll(deadline: Deadline | None) -> float:
    """How long a stoppable wait for a free place looks away from its stop and deadline."""
    return STOP_POLL if deadline is None else max(0.0, min(STOP_POLL, deadline.remaining()))
