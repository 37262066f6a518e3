"""Activity endpoints: a paging token for a date, and the activities since it.

What is logged: "Request Campaign" (47) on each lead a trigger call reached, "New Lead"
(12) and "Change Data Value" (13) for what a ``leads.json`` sync created or changed, plus
activities of other types a test adds (``add_activity``) or a campaign's flow logs
(``ActivityFaults.flow``); ``activity_types`` describes them.  How pages misbehave is set
by ``World.activity_faults`` (empty pages, a log that never ends, a type filter ignored).
docs/emulator.md says which parts a source backs.

A paging token is a **date**, as Adobe documents ("Token representation of a datetime ...
This endpoint will return activities after this datetime", Swagger; the *Paging Tokens*
page): base32 of ``DATE,ID`` in the form Adobe's own examples decode to
(``2008-11-06T00:00:00.000+0000,0``).  A page serves the activities after the point
(DATE, ID) in the log's order (time, then id), so a token for tomorrow serves nothing until
something is logged tomorrow, and an activity logged later at an earlier time is not served
to a read already past it.  ``DATE,ID,EMPTIES`` also counts the empty pages a read was
served (the ``empty_pages`` switch).

Invariant: ``World.activities`` is sorted by ``(_at, id)``; ``_at`` is kept to the
millisecond, the precision a token carries.
"""

from __future__ import annotations

import base64
import bisect
from datetime import UTC, datetime
from typing import Any

from mktsync.emulator.activity_types import (
    API_SOURCE,
    CHANGE_DATA_VALUE,
    NEW_LEAD,
    REQUEST_CAMPAIGN,
    SEND_EMAIL,
)
from mktsync.emulator.call import Call, batch_size, iso_datetime
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.world import CampaignRecord, World, lead_db_time

MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
_EMAIL_IDS = 700_000  # a campaign's email asset id, for its flow's "Send Email"
_TOKEN_DATE = "%Y-%m-%dT%H:%M:%S"


def add_activity(
    world: World,
    lead_id: int,
    type_id: int,
    moment: datetime,
    *,
    primary_id: int | None = None,
    primary_value: str | None = None,
    campaign_id: int | None = None,
    attributes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Log one activity at ``moment``, keeping the log in time order."""
    moment = _to_ms(moment)
    number = len(world.activities) + 1
    activity: dict[str, Any] = {
        "id": number,
        "marketoGUID": str(number),
        "leadId": lead_id,
        "activityDate": lead_db_time(moment),
        "activityTypeId": type_id,
    }
    if campaign_id is not None:
        activity["campaignId"] = campaign_id
    if primary_id is not None:
        activity["primaryAttributeValueId"] = primary_id
    if primary_value is not None:
        activity["primaryAttributeValue"] = primary_value
    activity["attributes"] = attributes or []
    activity["_at"] = moment  # for paging tokens and ordering; never sent
    log = world.activities
    if not log or log[-1]["_at"] <= moment:
        log.append(activity)  # a trigger's, now: the usual case, O(1)
    else:
        log.insert(bisect.bisect_right(log, moment, key=lambda a: a["_at"]), activity)
    return activity


def record_requests(
    world: World, c: CampaignRecord, lead_ids: list[int], moment: datetime, ran: list[int]
) -> None:
    """Log "Request Campaign" on every lead a trigger call reached, and with
    ``activity_faults.flow`` a "Send Email" from the campaign on each lead whose flow ran."""
    for lead_id in lead_ids:
        add_activity(
            world,
            lead_id,
            REQUEST_CAMPAIGN,
            moment,
            primary_id=c.id,
            primary_value=c.name,
            attributes=[{"name": "Source", "value": API_SOURCE}],
        )
    if world.activity_faults.flow:
        for lead_id in dict.fromkeys(ran):
            add_activity(
                world,
                lead_id,
                SEND_EMAIL,
                moment,
                primary_id=_EMAIL_IDS + c.id,
                primary_value=f"{c.name}.Email",
                campaign_id=c.id,
                attributes=[{"name": "Campaign Run ID", "value": 1}],
            )


def record_new_lead(world: World, lead: dict[str, Any], moment: datetime) -> None:
    """Log "New Lead" for a lead a sync created (primary attribute: the lead itself)."""
    name = " ".join(str(lead[f]) for f in ("firstName", "lastName") if lead.get(f))
    add_activity(
        world,
        lead["id"],
        NEW_LEAD,
        moment,
        primary_id=lead["id"],
        primary_value=name or str(lead.get("email") or ""),
        attributes=[
            {"name": "Created Date", "value": moment.date().isoformat()},
            {"name": "Source Type", "value": API_SOURCE},
        ],
    )


def record_changes(
    world: World,
    lead: dict[str, Any],
    changes: dict[str, Any],
    fields: dict[str, tuple[int, str]],
    moment: datetime,
) -> None:
    """Log "Change Data Value" for each field a sync gave a new value (before ``lead``
    takes ``changes``); ``fields`` maps a field name to its describe id and display name."""
    for name, new in changes.items():
        old = lead.get(name)
        if name not in fields or new == old:
            continue
        field_id, display = fields[name]
        add_activity(
            world,
            lead["id"],
            CHANGE_DATA_VALUE,
            moment,
            primary_id=field_id,
            primary_value=display,
            attributes=[
                {"name": "New Value", "value": new},
                {"name": "Old Value", "value": old},
                {"name": "Reason", "value": API_SOURCE},
                {"name": "Source", "value": API_SOURCE},
            ],
        )


def _to_ms(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to the millisecond (naive means UTC)."""
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _since(text: str | None) -> datetime:
    if text is None:
        raise ApiError("701", "sinceDatetime cannot be blank")
    moment = iso_datetime(text)
    if moment is None:
        raise ApiError("1001", f"Invalid value type for parameter 'sinceDatetime': {text}")
    # The log keeps times to the millisecond (an activity at 08:00:00.0007 is kept as
    # 08:00:00.000), so the date is cut the same way: nothing at or after it is missed.
    return _to_ms(moment)


Cursor = tuple[datetime, int, int]  # (date, last id served at that date, empty pages served)


def _token(cursor: Cursor) -> str:
    moment, last_id, empties = cursor
    text = f"{moment.strftime(_TOKEN_DATE)}.{moment.microsecond // 1000:03d}+0000,{last_id}"
    if empties:
        text += f",{empties}"
    return base64.b32encode(text.encode()).decode()


def _cursor(token: str | None) -> Cursor:
    if token is None:
        raise ApiError("701", "nextPageToken cannot be blank")
    try:
        padded = token + "=" * (-len(token) % 8)
        parts = base64.b32decode(padded.encode()).decode().split(",")
        if len(parts) not in (2, 3):
            raise ValueError(parts)
        moment = datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
        last_id, empties = int(parts[1]), int(parts[2]) if len(parts) == 3 else 0
    except (ValueError, UnicodeDecodeError):
        raise ApiError("1003", "Invalid nextPageToken") from None
    if last_id < 0 or empties < 0:
        raise ApiError("1003", "Invalid nextPageToken")
    return moment, last_id, empties


def paging_token(call: Call, world: World) -> Outcome:
    """``GET /rest/v1/activities/pagingtoken.json``: the date itself, as a token; nothing of
    the log is read (a token for tomorrow serves what is logged from tomorrow on)."""
    since = _since(call.param("sinceDatetime"))
    return Outcome(result=None, extra={"nextPageToken": _token((since, 0, 0))})


def activities(call: Call, world: World) -> Outcome:
    moment, last_id, empties = _cursor(call.param("nextPageToken"))
    types = set(call.ints("activityTypeIds"))
    if not types:
        raise ApiError("701", "activityTypeIds cannot be blank")
    if len(types) > MAX_TYPE_IDS:
        raise ApiError("1003", f"Too many activityTypeIds: at most {MAX_TYPE_IDS}")
    leads = set(call.ints("leadIds"))
    if len(leads) > MAX_LEAD_IDS:
        raise ApiError("1003", f"Too many leadIds: at most {MAX_LEAD_IDS}")
    quirks = world.activity_faults
    if empties < quirks.empty_pages:
        # Adobe: pages may hold fewer results than asked, none even, with moreResult true.
        return Outcome(result=None, extra={"nextPageToken": _token((moment, last_id, empties + 1)),
                                           "moreResult": True})  # fmt: skip
    size = batch_size(call)
    log = world.activities
    found: list[dict[str, Any]] = []
    index = bisect.bisect_right(log, (moment, last_id), key=lambda a: (a["_at"], a["id"]))
    while index < len(log) and len(found) < size:
        activity = log[index]
        index += 1
        moment, last_id = activity["_at"], activity["id"]  # the point this page read up to
        typed = quirks.all_types or activity["activityTypeId"] in types
        if typed and (not leads or activity["leadId"] in leads):
            found.append({k: v for k, v in activity.items() if not k.startswith("_")})
    more = index < len(log) or quirks.endless
    extra = {"nextPageToken": _token((moment, last_id, empties)), "moreResult": more}
    # With nothing found Marketo leaves ``result`` out (docs/emulator.md).
    return Outcome(result=found or None, extra=extra)
