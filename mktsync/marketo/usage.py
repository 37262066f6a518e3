"""Today's API usage of the instance (``GET /rest/v1/stats/usage.json``), and the calls a
run may still make (``CallBudget``).

>>> usage = DailyUsage.from_body({"success": True, "result": [{"date": "2026-07-01",
...     "total": 46000, "users": [{"userId": "crm@example.com", "count": 46000}]}]})
>>> usage.total, usage.users[0].user_id
(46000, 'crm@example.com')
>>> budget = CallBudget(1)
>>> budget.take(); budget.take()
Traceback (most recent call last):
  ...
mktsync.marketo.usage.ReserveReached: the calls this run may make today are spent (1 of 1)

Adobe, *Usage* (experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/
lead-database/usage): the answer holds one day in ``result``: ``date`` (``YYYY-MM-DD``;
Swagger types it date-time, so only its first ten characters are kept), ``total`` (calls of
that day) and ``users`` (``userId``, ``count``), every API user of the subscription counted
separately.  Swagger (``getDailyUsageUsingGET``): "Returns the number of calls consumed for
the day.  Required Permissions: None".  Whether the read counts itself, and how soon a
call shows in it, Adobe does not say: a run holds itself to the reserve with the count it
reads and a ``CallBudget``, and the reserve absorbs what it cannot see.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mktsync.errors import EXIT_QUOTA
from mktsync.marketo.codes import NotSent


@dataclass(frozen=True, kw_only=True)
class UserUsage:
    """One API user's calls today: ``userId`` is its e-mail (the identity's ``scope``)."""

    user_id: str
    count: int


@dataclass(frozen=True, kw_only=True)
class DailyUsage:
    """The instance's calls of one day (``date``, Marketo's day: it turns at midnight US
    Central), by every API user together (``total``) and per user."""

    date: str
    total: int
    users: tuple[UserUsage, ...] = ()

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> DailyUsage:
        """The first day of a usage answer; a day without ``total`` counts its users."""
        result = body.get("result")
        day = result[0] if isinstance(result, list) and result else {}
        if not isinstance(day, Mapping):
            day = {}
        users = tuple(
            UserUsage(user_id=str(u.get("userId", "")), count=_count(u.get("count")))
            for u in day.get("users") or []
            if isinstance(u, Mapping)
        )
        total = day.get("total")
        return cls(
            date=str(day.get("date") or "")[:10],
            total=_count(total) if total is not None else sum(u.count for u in users),
            users=users,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "total": self.total,
            "users": [{"userId": u.user_id, "count": u.count} for u in self.users],
        }


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class ReserveReached(NotSent):
    """The calls this run may make today are spent (the daily quota less what other API
    users used and ``quota_reserve``): the call was kept home, not attempted."""

    exit_code = EXIT_QUOTA


class CallBudget:
    """How many more API calls this run may send today; every attempt that leaves takes one.

    Thread-safe.  ``take`` raises ``ReserveReached`` once the budget is spent (and from
    then on); ``reached`` says whether a call was kept home for it.  A ``shared`` budget
    is the room a ``SharedLimiter`` keeps for every run on the instance: ``allowed`` is
    what was left when this run read its usage, and the limiter, not ``take``, counts
    each call and sets ``reached``.
    """

    def __init__(self, calls: int, *, shared: bool = False) -> None:
        self.allowed = max(0, calls)
        self.shared = shared
        self._taken = 0
        self._lock = threading.Lock()
        self.reached = False

    def __repr__(self) -> str:
        return f"CallBudget(allowed={self.allowed}, taken={self.taken})"

    @property
    def taken(self) -> int:
        with self._lock:
            return self._taken

    def take(self) -> None:
        with self._lock:
            if self._taken >= self.allowed:
                self.reached = True
                raise ReserveReached(
                    f"the calls this run may make today are spent ({self._taken:,} of "
                    f"{self.allowed:,})"
                )
            self._taken += 1
