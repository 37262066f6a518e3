"""The knobs of one emulator run: limits, latency, token lifetime, faults and strictness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UnknownLeads = Literal["reject", "ignore"]


@dataclass(frozen=True, kw_only=True)
class EmulatorOptions:
    """How the emulator behaves; every default is Marketo's documented value.

    >>> EmulatorOptions(calls=5, window_seconds=1.0, latency=(0.05, 0.1)).concurrency
    10

    ``faults`` uses the command-line syntax (``"606=0.05,lost=0.01,trigger#7=lost"``).
    ``random_seed`` seeds the fault dice; ``None`` takes the seed file's ``faults.seed`` (or 0).
    ``count_rejected`` says whether calls refused with 606/607/615 still count toward the
    window and the daily quota (Marketo's note exempts only 601/602/604/605/608/611).
    ``unknown_leads`` says what a trigger does with lead ids that do not exist.
    """

    token_ttl: float = 3600.0
    calls: int = 100
    window_seconds: float = 20.0
    concurrency: int = 10
    daily_quota: int = 50_000
    latency: tuple[float, float] = (0.0, 0.0)
    faults: str | None = None
    allow_query_token: bool = False
    random_seed: int | None = None
    count_rejected: bool = True
    unknown_leads: UnknownLeads = "reject"
    clone_daily_cap: int = 20

    def __post_init__(self) -> None:
        low, high = self.latency
        if low < 0 or high < low:
            raise ValueError(f"latency must be 0 <= low <= high, got {self.latency!r}")
        for name in ("calls", "concurrency", "daily_quota", "clone_daily_cap"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.window_seconds <= 0 or self.token_ttl <= 0:
            raise ValueError("window_seconds and token_ttl must be positive")
        if self.unknown_leads not in ("reject", "ignore"):
            raise ValueError("unknown_leads must be 'reject' or 'ignore'")


def parse_latency(text: str) -> tuple[float, float]:
    """``"0.15"`` -> ``(0.15, 0.15)``; ``"0.15-0.25"`` -> ``(0.15, 0.25)``."""
    low, sep, high = text.partition("-")
    try:
        pair = (float(low), float(high) if sep else float(low))
    except ValueError:
        raise ValueError(f"latency must look like 0.15 or 0.15-0.25, got {text!r}") from None
    if pair[0] < 0 or pair[1] < pair[0]:
        raise ValueError(f"latency must be 0 <= low <= high, got {text!r}")
    return pair
