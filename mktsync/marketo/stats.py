"""What a client did during a run, for the runner's summary.

>>> stats = ClientStats()
>>> stats.call("trigger"); stats.retry("606")
>>> stats.snapshot().retries
{'606': 1}
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Stats:
    """A copy of the counters at one moment.

    ``calls``: API calls sent per endpoint name (identity excluded, it is not counted by
    Marketo); ``retries``: retries per reason (a Marketo code, ``"html500"``,
    ``"connect"``, ``"read"``); ``throttled_waits`` / ``throttled_seconds``: times and total
    seconds the limiter held a call back; ``token_renewals``: identity calls made.
    """

    calls: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    throttled_waits: int = 0
    throttled_seconds: float = 0.0
    token_renewals: int = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


class ClientStats:
    """Thread-safe counters shared by the client, its auth flow and its limiter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()
        self._waits = 0
        self._waited = 0.0
        self._renewals = 0

    def call(self, endpoint: str) -> None:
        with self._lock:
            self._calls[endpoint] += 1

    def retry(self, reason: str) -> None:
        with self._lock:
            self._retries[reason] += 1

    def throttled(self, seconds: float) -> None:
        with self._lock:
            self._waits += 1
            self._waited += seconds

    def renewal(self) -> None:
        with self._lock:
            self._renewals += 1

    def snapshot(self) -> Stats:
        with self._lock:
            return Stats(
                calls=dict(self._calls),
                retries=dict(self._retries),
                throttled_waits=self._waits,
                throttled_seconds=self._waited,
                token_renewals=self._renewals,
            )
