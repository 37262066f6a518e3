"""Reading leads' activity logs: a paging token for a date, then pages, within a budget.

>>> read = read_activities(caller, [47], [318592], "2026-11-30T08:00:00Z")  # doctest: +SKIP
>>> read.activities[0]                                                       # doctest: +SKIP
Activity(guid='102988', lead_id=318592, date='2026-11-30T08:00:01Z', type_id=47, ...)
>>> read.complete, read.pages                                                # doctest: +SKIP
(True, 1)

Marketo takes at most 30 lead ids and 10 activity types a call, and pages with a
``nextPageToken`` got from ``activities/pagingtoken.json`` for the start date; the log of
a set of leads is read *to its end* only when a page says ``moreResult: false``
(Adobe's *Activities* page).  Pages with fewer results than asked, even none, may still
say ``moreResult: true``: they are normal, so an empty page never ends a read.

Invariants:

* A read stops only at the log's end, or when its ``ReadBudget`` (pages and seconds,
  checked before each page) is spent, or on an error; ``ActivityRead.unread`` names every
  lead whose log was not read to its end, and ``stopped`` says why.  There is no silent
  cut-off: "nothing found" means something only for leads not in ``unread``.
* The seconds are wall time since the read started, waits included: each call carries
  the budget's ``Deadline``, so a call that would wait past it for a rate slot (or a
  retry) is never sent and the read stops; only a page already on the wire finishes.
* Only activities of the types asked for are returned, whatever the server sent back.
* Both calls only read, so every transient failure is retried (``Caller``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mktsync.errors import MarketoError
from mktsync.marketo.codes import DeadlineReached
from mktsync.marketo.leads import chunks, int_or_none
from mktsync.marketo.records import Activity
from mktsync.marketo.stop import Deadline
from mktsync.marketo.transport import Caller

REQUEST_CAMPAIGN = 47  # the activity type "Request Campaign"
MAX_ACTIVITY_LEADS = 30
MAX_ACTIVITY_TYPES = 10
# A settle's defaults (docs/ledger.md): 1,000 pages is 2% of Marketo's default daily quota
# and, at the documented 100 calls per 20 s, about 200 s of paging.
DEFAULT_MAX_PAGES = 1000
DEFAULT_MAX_SECONDS = 300.0


@dataclass(frozen=True, kw_only=True)
class ReadBudget:
    """How much a read may spend: ``activities.json`` pages, and seconds since it started.

    >>> ReadBudget(max_pages=50).max_seconds
    300.0
    """

    max_pages: int = DEFAULT_MAX_PAGES
    max_seconds: float = DEFAULT_MAX_SECONDS

    def __post_init__(self) -> None:
        if self.max_pages < 0 or self.max_seconds < 0:
            raise ValueError("a read budget is never negative")


@dataclass(frozen=True, kw_only=True)
class ActivityRead:
    """What a read found, and whether it reached the end of every lead's log.

    ``unread``: the leads whose log was not read to its end (so the absence of an activity
    says nothing about them); ``stopped``: why, or None when every log was read to its end.
    """

    activities: tuple[Activity, ...]
    unread: frozenset[int]
    stopped: str | None
    pages: int
    seconds: float
    ignored: int = 0  # activities of types not asked for that the server sent anyway

    @property
    def complete(self) -> bool:
        return not self.unread


def paging_token(caller: Caller, since: str, deadline: Deadline | None = None) -> str:
    """The token that starts reading activities at ``since`` (ISO 8601)."""
    body = caller.call(
        "paging_token",
        "GET",
        "/rest/v1/activities/pagingtoken.json",
        params={"sinceDatetime": since},
        idempotent=True,
        deadline=deadline,
    )
    return str(body.get("nextPageToken") or "")


def read_activities(
    caller: Caller,
    type_ids: Sequence[int],
    lead_ids: Sequence[int],
    since: str | Mapping[int, str],
    *,
    budget: ReadBudget | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ActivityRead:
    """Activities of these types on these leads since ``since`` (ISO 8601; or one time per
    lead id), oldest first per batch of 30 leads.

    With a time per lead, leads are read earliest first, each batch from the earliest
    time among its leads.  Each batch is read to the end of its log unless ``budget``
    (shared by all the batches) runs out or Marketo answers an error; the result says
    which leads were not read to the end, and why.
    """
    if not 1 <= len(type_ids) <= MAX_ACTIVITY_TYPES:
        raise ValueError(f"read_activities takes 1 to {MAX_ACTIVITY_TYPES} activity types")
    budget = budget or ReadBudget()
    wanted = {int(t) for t in type_ids}
    types = ",".join(str(t) for t in sorted(wanted))
    leads = list(dict.fromkeys(int(i) for i in lead_ids))
    if isinstance(since, str):
        start_of = dict.fromkeys(leads, since)
    else:
        start_of = {lead: since[lead] for lead in leads}
        # ISO 8601 UTC texts of one form sort as times do.
        leads.sort(key=lambda lead: (start_of[lead], lead))
    started = clock()
    deadline = Deadline(at=started + budget.max_seconds, clock=clock)
    found: list[Activity] = []
    unread: set[int] = set()
    stopped: str | None = None
    pages = ignored = 0
    for batch in chunks(leads, MAX_ACTIVITY_LEADS):
        stopped = stopped or _spent(budget, pages, clock() - started)
        if stopped is not None:
            unread.update(batch)
            continue
        try:
            token = paging_token(caller, min(start_of[lead] for lead in batch), deadline)
            while True:
                stopped = _spent(budget, pages, clock() - started)
                if stopped is not None:
                    break
                body = caller.call(
                    "activities",
                    "GET",
                    "/rest/v1/activities.json",
                    params={
                        "nextPageToken": token,
                        "activityTypeIds": types,
                        "leadIds": ",".join(str(i) for i in batch),
                    },
                    idempotent=True,
                    deadline=deadline,
                )
                pages += 1
                # An empty page may have no ``result`` at all; it does not end the read.
                for raw in body.get("result") or []:
                    activity = _activity(raw)
                    if activity is None or activity.type_id not in wanted:
                        ignored += 1
                    else:
                        found.append(activity)
                if not body.get("moreResult"):
                    break
                token = str(body.get("nextPageToken") or "")
                if not token:
                    stopped = "Marketo said moreResult: true but gave no nextPageToken"
                    break
        except DeadlineReached as exc:
            stopped = (
                f"the time budget ({budget.max_seconds:g} s) runs out before the next call: {exc}"
            )
        except MarketoError as exc:
            stopped = f"reading Marketo's activity log failed ({exc})"
        if stopped is not None:
            unread.update(batch)
    return ActivityRead(
        activities=tuple(found),
        unread=frozenset(unread),
        stopped=stopped,
        pages=pages,
        seconds=clock() - started,
        ignored=ignored,
    )


def _spent(budget: ReadBudget, pages: int, seconds: float) -> str | None:
    """Why no further page may be read, or None."""
    if pages >= budget.max_pages:
        return f"the page budget ({budget.max_pages} pages) was spent"
    if seconds >= budget.max_seconds:
        return f"the time budget ({budget.max_seconds:g} s) was spent"
    return None


def _activity(raw: Any) -> Activity | None:
    if not isinstance(raw, Mapping):
        return None
    lead_id, type_id = int_or_none(raw.get("leadId")), int_or_none(raw.get("activityTypeId"))
    if lead_id is None or type_id is None:
        return None
    return Activity(
        guid=str(raw.get("marketoGUID") or raw.get("id") or ""),
        lead_id=lead_id,
        date=str(raw.get("activityDate") or ""),
        type_id=type_id,
        primary_id=int_or_none(raw.get("primaryAttributeValueId")),
        campaign_id=int_or_none(raw.get("campaignId")),
    )
