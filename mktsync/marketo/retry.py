"""How often and how long a failed call is sent again: exponential backoff with jitter.

>>> policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0)
>>> [policy.cap(n) for n in (1, 2, 3, 4)]
[1.0, 2.0, 4.0, 8.0]

Only failures where Marketo did not carry the request out are retried (see ``codes``);
a run gives up when either bound is reached, whichever comes first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounds and pacing of retries.

    ``max_attempts`` counts the first try; ``max_time`` (seconds) bounds the time spent
    on one call including its waits: a retry whose wait would pass it is not made.
    The wait before retry *n* is drawn from ``[cap(n)/2, cap(n)]`` ("equal jitter"), so
    workers that failed together spread out but never retry at once.
    """

    max_attempts: int = 6
    max_time: float = 300.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    seed: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay or self.max_time < 0:
            raise ValueError("need 0 <= base_delay <= max_delay and max_time >= 0")

    def cap(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1-based)."""
        return min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))

    def delay(self, retry: int, rng: random.Random) -> float:
        cap = self.cap(retry)
        return cap / 2 + rng.uniform(0.0, cap / 2)

    def rng(self) -> random.Random:
        return random.Random(self.seed)
