"""A clock the test moves: pass it where the code takes ``clock=`` instead of sleeping."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that pass only when the test says so.

    >>> clock = FakeClock()
    >>> clock.advance(1.5)
    >>> clock()
    1001.5

    ``tick`` moves it on by that much each time it is read: time that passes with the
    work done, for a test where things expire while a run goes on.
    """

    def __init__(self, start: float = 1000.0, *, tick: float = 0.0) -> None:
        self.now = start
        self.tick = tick

    def __call__(self) -> float:
        now = self.now
        self.now += self.tick
        return now

    def advance(self, seconds: float) -> None:
        self.now += seconds
