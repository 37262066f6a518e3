"""Marketo's instance-wide limits: calls per sliding window, concurrent calls, daily quota."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Marketo's daily quota resets at 00:00 CST; CST is UTC-6 (no daylight saving in the docs).
_CST_OFFSET = -6 * 3600


def cst_day(epoch: float) -> int:
    return int((epoch + _CST_OFFSET) // 86400)


@dataclass(frozen=True, kw_only=True)
class Admission:
    """Whether a call may run; ``code`` is 606/607/615 when it may not."""

    code: str | None
    counted: bool


class Limiter:
    """Admits or refuses calls; a refused call is counted when ``count_rejected`` says so.

    >>> lim = Limiter(calls=1, window_seconds=20, concurrency=10, daily_quota=100)
    >>> lim.admit().code, lim.admit().code
    (None, '606')
    """

    def __init__(
        self,
        *,
        calls: int,
        window_seconds: float,
        concurrency: int,
        daily_quota: int,
        count_rejected: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.calls, self.window_seconds = calls, window_seconds
        self.concurrency, self.daily_quota = concurrency, daily_quota
        self._count_rejected = count_rejected
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._in_flight = 0
        self._day = cst_day(wall())
        self._used = 0
        self.counted = 0
        self.rejected = {"rate": 0, "concurrency": 0, "quota": 0}

    def admit(self) -> Admission:
        """Check quota, then window, then concurrency; an admitted call holds a slot."""
        with self._lock:
            now = self._clock()
            while self._window and self._window[0] <= now - self.window_seconds:
                self._window.popleft()
            day = cst_day(self._wall())
            if day != self._day:
                self._day, self._used = day, 0
            if self._used >= self.daily_quota:
                code, reason = "607", "quota"
            elif len(self._window) >= self.calls:
                code, reason = "606", "rate"
            elif self._in_flight >= self.concurrency:
                code, reason = "615", "concurrency"
            else:
                self._in_flight += 1
                self._count(now)
                return Admission(code=None, counted=True)
            self.rejected[reason] += 1
            if self._count_rejected:
                self._count(now)
            return Admission(code=code, counted=self._count_rejected)

    def _count(self, now: float) -> None:
        self._window.append(now)
        self._used += 1
        self.counted += 1

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def refund(self) -> None:
        """Un-count the latest admitted call (answered with a code Marketo does not count)."""
        with self._lock:
            if self._window:
                self._window.pop()
            self._used = max(0, self._used - 1)
            self.counted -= 1

    def spend(self, calls: int) -> None:
        """Other API users' calls of today (seeded usage): they use up the daily quota too."""
        with self._lock:
            self._used += max(0, calls)

    def quota_used(self) -> int:
        with self._lock:
            return self._used

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def reset(self) -> None:
        with self._lock:
            self._window.clear()
            self._used = 0
            self.counted = 0
            self.rejected = {"rate": 0, "concurrency": 0, "quota": 0}
