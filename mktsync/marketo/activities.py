"""Reading leads' activity logs: a paging token for a date, then pages of activities.

>>> find_activities(caller, [47], [318592], "2026-11-30T08:00:00Z")  # doctest: +SKIP
[Activity(guid='102988', lead_id=318592, date='2026-11-30T08:00:01Z', type_id=47, ...)]

Marketo takes at most 30 lead ids and 10 activity types a call, and pages with a
``nextPageToken`` got from ``activities/pagingtoken.json`` for the start date
(marketo-api.md section 7; Adobe's "Activities" page).  Both calls only read, so every
transient failure is retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mktsync.marketo.leads import chunks, int_or_none
from mktsync.marketo.records import Activity
from mktsync.marketo.transport import Caller

REQUEST_CAMPAIGN = 47  # the activity type "Request Campaign"
MAX_ACTIVITY_LEADS = 30
MAX_ACTIVITY_TYPES = 10
_MAX_PAGES = 10_000  # a guard against a server that never says moreResult: false


def paging_token(caller: Caller, since: str) -> str:
    """The token that starts reading activities at ``since`` (ISO 8601)."""
    body = caller.call(
        "paging_token",
        "GET",
        "/rest/v1/activities/pagingtoken.json",
        params={"sinceDatetime": since},
        idempotent=True,
    )
    return str(body.get("nextPageToken") or "")


def find_activities(
    caller: Caller, type_ids: Sequence[int], lead_ids: Sequence[int], since: str
) -> list[Activity]:
    """Activities of these types on these leads since ``since``, oldest first."""
    if not 1 <= len(type_ids) <= MAX_ACTIVITY_TYPES:
        raise ValueError(f"find_activities takes 1 to {MAX_ACTIVITY_TYPES} activity types")
    found: list[Activity] = []
    for batch in chunks(list(dict.fromkeys(int(i) for i in lead_ids)), MAX_ACTIVITY_LEADS):
        token = paging_token(caller, since)
        for _page in range(_MAX_PAGES):
            body = caller.call(
                "activities",
                "GET",
                "/rest/v1/activities.json",
                params={
                    "nextPageToken": token,
                    "activityTypeIds": ",".join(str(t) for t in type_ids),
                    "leadIds": ",".join(str(i) for i in batch),
                },
                idempotent=True,
            )
            # An empty page has no ``result`` at all.
            found.extend(a for r in body.get("result") or [] if (a := _activity(r)) is not None)
            token = str(body.get("nextPageToken") or "")
            if not body.get("moreResult") or not token:
                break
    return found


def _activity(raw: Any) -> Activity | None:
    if not isinstance(raw, Mapping):
        return None
    lead_id, type_id = int_or_none(raw.get("leadId")), int_or_none(raw.get("activityTypeId"))
    if lead_id is None or type_id is None:
        return None
    campaign = int_or_none(raw.get("campaignId"))
    if campaign is None:
        campaign = int_or_none(raw.get("primaryAttributeValueId"))
    return Activity(
        guid=str(raw.get("marketoGUID") or raw.get("id") or ""),
        lead_id=lead_id,
        date=str(raw.get("activityDate") or ""),
        type_id=type_id,
        campaign_id=campaign,
    )
