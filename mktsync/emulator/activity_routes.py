"""Activity endpoints: a paging token for a date, and the activities since it.

Only what ``mktsync ledger settle`` reads is emulated: the "Request Campaign" activity
(type 47) a trigger call leaves on each lead it reached, plus activities of other types a
test adds (``add_activity``) or a campaign's flow logs (``ActivityFaults.flow``).  How
pages misbehave is set by ``World.activity_faults`` (empty pages, a log that never ends,
a type filter ignored).  docs/emulator.md says which parts a source backs.

A token is opaque base32 of ``activities:INDEX:EMPTIES``: where the next page starts in
the log (``World.activities``, in time order) and how many empty pages this read was served.
"""

from __future__ import annotations

import base64
import bisect
from datetime import UTC, datetime
from typing import Any

from mktsync.emulator.call import Call, batch_size, iso_datetime
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.world import CampaignRecord, World, lead_db_time

REQUEST_CAMPAIGN = 47  # activity type id of "Request Campaign"
SEND_EMAIL = 6  # activity type id of "Send Email"
MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
_TOKEN_PREFIX = "activities:"
_EMAIL_IDS = 700_000  # a campaign's email asset id, for its flow's "Send Email"


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
            attributes=[{"name": "Source", "value": "Web service API"}],
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


def _since(text: str | None) -> datetime:
    if text is None:
        raise ApiError("701", "sinceDatetime cannot be blank")
    moment = iso_datetime(text)
    if moment is None:
        raise ApiError("1001", f"Invalid value type for parameter 'sinceDatetime': {text}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token(index: int, empties: int = 0) -> str:
    return base64.b32encode(f"{_TOKEN_PREFIX}{index}:{empties}".encode()).decode()


def _position(token: str | None) -> tuple[int, int]:
    if token is None:
        raise ApiError("701", "nextPageToken cannot be blank")
    try:
        text = base64.b32decode(token.encode()).decode()
        if not text.startswith(_TOKEN_PREFIX):
            raise ValueError(text)
        index, _, empties = text.removeprefix(_TOKEN_PREFIX).partition(":")
        return int(index), int(empties or 0)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("1003", "Invalid nextPageToken") from None


def paging_token(call: Call, world: World) -> Outcome:
    since = _since(call.param("sinceDatetime"))
    start = next(
        (i for i, a in enumerate(world.activities) if a["_at"] >= since), len(world.activities)
    )
    return Outcome(result=None, extra={"nextPageToken": _token(start)})


def activities(call: Call, world: World) -> Outcome:
    start, empties = _position(call.param("nextPageToken"))
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
        return Outcome(result=None, extra={"nextPageToken": _token(start, empties + 1),
                                           "moreResult": True})  # fmt: skip
    size = batch_size(call)
    found: list[dict[str, Any]] = []
    index = start
    while index < len(world.activities) and len(found) < size:
        activity = world.activities[index]
        index += 1
        typed = quirks.all_types or activity["activityTypeId"] in types
        if typed and (not leads or activity["leadId"] in leads):
            found.append({k: v for k, v in activity.items() if not k.startswith("_")})
    more = index < len(world.activities) or quirks.endless
    extra = {"nextPageToken": _token(index, empties), "moreResult": more}
    # With nothing found Marketo leaves ``result`` out (docs/emulator.md).
    return Outcome(result=found or None, extra=extra)
