"""The instance's API usage per day and per API user, as ``stats/usage.json`` reports it.

Every call the limiter counts toward the daily quota is counted here too, under the API
user of the client id whose token made it (``user_of``); a call Marketo does not count
(601/602/604/605/608/611, ``App``) is taken back.  Other integrations' usage is seeded
(seed ``usage:``, ``--usage USER=COUNT``, ``POST /_emulator/usage``): it shows in the
report and, for today, uses up the daily quota as their calls would (``Limiter.spend``).

Days are Marketo's: they turn at 00:00 CST (``limits.cst_day``), like the quota.

>>> book = UsageBook(wall=lambda: 0.0)
>>> book.count("a@x"); book.add("crm@example.com", 46_000)
>>> book.day(0)["total"], book.day(0)["date"]
(46001, '1969-12-31')
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mktsync.emulator.limits import cst_day

DAYS_KEPT = 7  # stats/usage/last7days.json


def user_of(client_id: str) -> str:
    """The API user (``userId``, an e-mail address) behind a client id of the emulator."""
    return f"{client_id}@emulator.example"


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")


class UsageBook:
    """Calls by CST day and API user; thread-safe."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._days: dict[int, dict[str, int]] = {}

    def today(self) -> int:
        return cst_day(self._wall())

    def count(self, user: str, calls: int = 1) -> None:
        """``calls`` more (negative: fewer) by ``user`` today."""
        with self._lock:
            users = self._days.setdefault(self.today(), {})
            users[user] = max(0, users.get(user, 0) + calls)

    def add(self, user: str, calls: Any, days_ago: Any = 0) -> None:
        """Seed another integration's usage; ValueError on a bad count or day."""
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
            raise ValueError(f"usage: count must be a whole number >= 0, got {calls!r}")
        if not isinstance(days_ago, int) or not 0 <= days_ago < DAYS_KEPT:
            raise ValueError(f"usage: days_ago must be 0 to {DAYS_KEPT - 1}, got {days_ago!r}")
        if not user:
            raise ValueError("usage: an entry needs a userId")
        with self._lock:
            users = self._days.setdefault(self.today() - days_ago, {})
            users[user] = users.get(user, 0) + calls

    def day(self, days_ago: int) -> dict[str, Any]:
        """One day as Adobe's *Usage* page shows it: ``date``, ``total``, ``users``."""
        day = self.today() - days_ago
        with self._lock:
            users = dict(self._days.get(day, {}))
        return {
            "date": _date(day),
            "total": sum(users.values()),
            "users": [{"userId": u, "count": n} for u, n in sorted(users.items()) if n],
        }


def seed_usage(book: UsageBook, entries: Any, where: str = "usage") -> int:
    """Add seeded usage (``[{userId, count, days_ago?}]``); returns today's added calls."""
    if not isinstance(entries, list):
        raise ValueError(f"{where}: must be a list of {{userId, count, days_ago}}")
    today = 0
    for i, raw in enumerate(entries):
        if not isinstance(raw, Mapping) or set(raw) - {"userId", "count", "days_ago"}:
            raise ValueError(f"{where}[{i}]: an entry is {{userId, count, days_ago}}")
        days_ago = raw.get("days_ago", 0)
        book.add(str(raw.get("userId") or ""), raw.get("count"), days_ago)
        today += raw["count"] if days_ago == 0 else 0
    return today


def parse_usage_option(text: str) -> dict[str, Any]:
    """``crm@example.com=46000`` (``--usage``) -> a seed entry for today."""
    user, sep, count = text.rpartition("=")
    if not sep or not user or not count.strip().isdigit():
        raise ValueError(f"--usage must look like crm@example.com=46000, got {text!r}")
    return {"userId": user.strip(), "count": int(count)}
