"""How much of today's quota a run may use, and whether its calls fit (issue 24).

>>> from mktsync.config.model import Limits
>>> from mktsync.marketo.usage import DailyUsage
>>> room = QuotaRoom.of(Limits(quota_reserve=0.1), DailyUsage(date="2026-07-01", total=46_000))
>>> room.reserve, room.room
(5000, 0)

Marketo's daily quota is the instance's, shared by every API user (a CRM sync, a BI
export, mktsync): ``stats/usage.json`` tells how much of it was used today.  A run may use
the *room*: the quota (``limits.daily_quota``) less today's usage less the reserve left to
the others (``limits.quota_reserve``, a share of the quota, rounded up to whole calls).

The rule, for ``apply`` and for the plan's budget line alike (``fit``):

- ``all``: the run's calls fit in the room;
- ``some``: the room carries the run's preparation (preflight checks, lead lookups,
  lead-field writes) and at least its first trigger or schedule call: apply sends in plan
  order and keeps home the first call past the room and every call after it (exit 4;
  the next run sends the rest).  No call ever eats into the reserve;
- ``none``: it does not: apply sends nothing at all (exit 4), rather than spend calls on
  lookups for triggers it could not send.

Runs at once on one instance share the room through their shared limits
(``marketo.shared_limits``): ``held`` is how much less the room the instance's store
keeps is than this read alone leaves (calls other mktsync runs took that Marketo's count
does not show yet), and ``room`` is what is left for every run together.

The read of the usage itself is one of the run's calls (``Summary.usage_calls``) and is
counted in what Marketo reports, so it is left out of what must still fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from mktsync.config.model import Limits
from mktsync.marketo.usage import DailyUsage
from mktsync.plan.records import Summary

Fit = Literal["all", "some", "none"]


@dataclass(frozen=True, kw_only=True)
class QuotaRoom:
    """Today's quota as a run sees it: the quota, the reserve, what was used, what is left."""

    daily_quota: int
    share: float  # quota_reserve as configured
    usage: DailyUsage
    shared: bool = False  # the room is shared by the mktsync runs on the instance
    held: int = 0  # how much lower the shared room was than this read alone leaves

    @classmethod
    def of(cls, limits: Limits, usage: DailyUsage) -> QuotaRoom:
        return cls(daily_quota=limits.daily_quota, share=limits.quota_reserve, usage=usage)

    @property
    def reserve(self) -> int:
        """Calls kept for the other integrations (``quota_reserve`` of the quota, rounded up)."""
        return min(self.daily_quota, math.ceil(self.daily_quota * self.share - 1e-9))

    @property
    def used(self) -> int:
        return self.usage.total

    @property
    def room(self) -> int:
        """Calls a run may still make today without eating into the reserve."""
        return max(0, self.daily_quota - self.reserve - self.used - self.held)

    def fit(self, summary: Summary) -> Fit:
        """Whether a run's calls fit in the room: all of them, some, or none (see above)."""
        needed = needed_calls(summary)
        if needed <= self.room:
            return "all"
        prepare = summary.preflight_calls + summary.lookup_calls + summary.field_calls
        sends = summary.trigger_calls + summary.schedule_calls
        return "some" if self.room >= prepare + min(1, sends) and sends else "none"


def needed_calls(summary: Summary) -> int:
    """The calls a run still makes once it has read today's usage."""
    return summary.total_calls - summary.usage_calls
