"""Activity endpoints: a paging token for a date, and the activities since it.

Only what ``mktsync ledger settle`` reads is emulated: the "Request Campaign" activity
(type 47) a trigger call leaves on each lead it reached (docs/emulator.md says which
parts a source backs).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from mktsync.emulator.call import Call, batch_size, iso_datetime
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.world import CampaignRecord, World, lead_db_time

REQUEST_CAMPAIGN = 47  # activity type id of "Request Campaign"
MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
_TOKEN_PREFIX = "activities:"


def record_requests(world: World, c: CampaignRecord, lead_ids: list[int], moment: datetime) -> None:
    """Log "Request Campaign" on every lead a trigger call reached."""
    for lead_id in lead_ids:
        world.activities.append(
            {
                "id": len(world.activities) + 1,
                "marketoGUID": str(len(world.activities) + 1),
                "leadId": lead_id,
                "activityDate": lead_db_time(moment),
                "activityTypeId": REQUEST_CAMPAIGN,
                "campaignId": c.id,
                "primaryAttributeValueId": c.id,
                "primaryAttributeValue": c.name,
                "attributes": [{"name": "Source", "value": "Web service API"}],
                "_at": moment,  # for paging tokens; never sent
            }
        )


def _since(text: str | None) -> datetime:
    if text is None:
        raise ApiError("701", "sinceDatetime cannot be blank")
    moment = iso_datetime(text)
    if moment is None:
        raise ApiError("1001", f"Invalid value type for parameter 'sinceDatetime': {text}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token(index: int) -> str:
    return base64.b32encode(f"{_TOKEN_PREFIX}{index}".encode()).decode()


def _index(token: str | None) -> int:
    if token is None:
        raise ApiError("701", "nextPageToken cannot be blank")
    try:
        text = base64.b32decode(token.encode()).decode()
        if not text.startswith(_TOKEN_PREFIX):
            raise ValueError(text)
        return int(text.removeprefix(_TOKEN_PREFIX))
    except (ValueError, UnicodeDecodeError):
        raise ApiError("1003", "Invalid nextPageToken") from None


def paging_token(call: Call, world: World) -> Outcome:
    since = _since(call.param("sinceDatetime"))
    start = next(
        (i for i, a in enumerate(world.activities) if a["_at"] >= since), len(world.activities)
    )
    return Outcome(result=None, extra={"nextPageToken": _token(start)})


def activities(call: Call, world: World) -> Outcome:
    start = _index(call.param("nextPageToken"))
    types = set(call.ints("activityTypeIds"))
    if not types:
        raise ApiError("701", "activityTypeIds cannot be blank")
    if len(types) > MAX_TYPE_IDS:
        raise ApiError("1003", f"Too many activityTypeIds: at most {MAX_TYPE_IDS}")
    leads = set(call.ints("leadIds"))
    if len(leads) > MAX_LEAD_IDS:
        raise ApiError("1003", f"Too many leadIds: at most {MAX_LEAD_IDS}")
    size = batch_size(call)
    found: list[dict[str, Any]] = []
    index = start
    while index < len(world.activities) and len(found) < size:
        activity = world.activities[index]
        index += 1
        if activity["activityTypeId"] in types and (not leads or activity["leadId"] in leads):
            found.append({k: v for k, v in activity.items() if not k.startswith("_")})
    extra = {"nextPageToken": _token(index), "moreResult": index < len(world.activities)}
    # With nothing found Marketo leaves ``result`` out (docs/emulator.md).
    return Outcome(result=found or None, extra=extra)
