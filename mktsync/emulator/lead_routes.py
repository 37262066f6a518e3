"""Lead endpoints: get leads by filter type, sync (create/update) leads.

A sync logs what it did in the leads' activity logs, as Marketo records "nearly every
change" (Adobe, *Activities*): "New Lead" for each lead it created, "Change Data Value" for
each field it gave a new value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mktsync.emulator.activity_routes import record_changes, record_new_lead
from mktsync.emulator.call import Call, page
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.lead_fields import (
    DEFAULT_FIELDS,
    STANDARD_FIELDS,
    field_ids,
    field_problem,
    searchable,
    stored,
)
from mktsync.emulator.world import World, lead_db_time

MAX_FILTER_VALUES = 300
MAX_SYNC_RECORDS = 300
MAX_MATCHES = 1000
# A lookup on a field describe2 does not list as searchable gets 1011 (Adobe, error codes;
# real text: "Lookup field 'createdAt' not supported", marketo-rest-python issue #53).
ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")


def known_fields(world: World) -> set[str]:
    return set(STANDARD_FIELDS) | world.lead_fields | set(world.field_schema)


def get_leads(call: Call, world: World) -> Outcome:
    filter_type = call.required("filterType")
    values = call.csv("filterValues")
    if not values:
        raise ApiError("1002", "Missing value for required parameter 'filterValues'")
    if len(values) > MAX_FILTER_VALUES:
        raise ApiError("1003", f"Too many filterValues: at most {MAX_FILTER_VALUES}")
    fields = call.csv("fields") or list(DEFAULT_FIELDS)
    known = known_fields(world)
    if filter_type not in searchable(world):
        raise ApiError("1011", f"Lookup field '{filter_type}' not supported")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise ApiError("1006", f"Field '{unknown[0]}' not found")
    matches: list[dict[str, Any]] = []
    seen: set[int] = set()
    for value in values:
        for lead in _lookup(world, filter_type, value):
            if lead["id"] not in seen:
                seen.add(lead["id"])
                matches.append(lead)
    if len(matches) > MAX_MATCHES:
        raise ApiError("1003", "Too many results match the filter")
    # Marketo always returns the id; requested fields without a value come back as null.
    rows = [{"id": lead["id"], **{f: lead.get(f) for f in fields}} for lead in matches]
    chunk, extra = page(call, rows, "leads")
    return Outcome(result=chunk, extra=extra)


def _lookup(world: World, field: str, value: str) -> list[dict[str, Any]]:
    if field == "id":
        if not value.lstrip("-").isdigit():
            raise ApiError("1001", f"Invalid value type for filterValues: '{value}'")
        lead = world.leads.get(int(value))
        return [lead] if lead else []
    return world.find_leads(field, value)


def _bad_email(value: Any) -> bool:
    return not isinstance(value, str) or not value.isascii() or "@" not in value[1:-1]


def sync_leads(call: Call, world: World) -> Outcome:
    body = call.json if isinstance(call.json, dict) else {}
    records = body.get("input")
    if not isinstance(records, list):
        raise ApiError("1002", "Missing value for required parameter 'input'")
    if len(records) > MAX_SYNC_RECORDS:
        raise ApiError("1003", f"Too many records: at most {MAX_SYNC_RECORDS} per call")
    action = body.get("action", "createOrUpdate")
    if action not in ACTIONS:
        raise ApiError("1003", f"Invalid action '{action}'")
    lookup = body.get("lookupField", "email")
    if not isinstance(lookup, str) or lookup not in known_fields(world):
        raise ApiError("1003", f"Invalid lookupField '{lookup}'")
    if lookup not in searchable(world):
        raise ApiError("1011", f"Lookup field '{lookup}' not supported")
    if lookup == "id" and action != "updateOnly":
        raise ApiError("1003", "lookupField 'id' is allowed only with updateOnly")
    described = field_ids(world)
    now = datetime.now(UTC)
    return Outcome(result=[_sync_one(world, r, action, lookup, described, now) for r in records])


def _skipped(code: str, message: str) -> dict[str, Any]:
    return {"status": "skipped", "reasons": [{"code": code, "message": message}]}


def _sync_one(
    world: World,
    record: Any,
    action: str,
    lookup: str,
    described: dict[str, tuple[int, str]],
    now: datetime,
) -> dict[str, Any]:
    if not isinstance(record, dict) or not record:
        return _skipped("1003", "Invalid data")
    if "id" in record and action != "updateOnly":
        return _skipped("1003", "Field 'id' is allowed only with updateOnly")
    if "email" in record and record["email"] is not None and _bad_email(record["email"]):
        return _skipped("1003", f"Invalid value for field 'email' and value '{record['email']}'")
    stamp = lead_db_time(now)
    fields = {k: v for k, v in record.items() if k != "id"}
    problem = field_problem(world, {k: v for k, v in fields.items() if k != lookup})
    if problem is not None:  # the whole record is skipped; the others in the call go on
        return _skipped(*problem)
    fields = stored(world, fields)  # "false" -> false in a boolean field, as Marketo keeps it
    if action == "createDuplicate":
        matches: list[dict[str, Any]] = []
    else:
        key = record.get(lookup)
        if key is None and action != "createOnly":
            return _skipped("1003", f"Value for lookup field '{lookup}' is missing")
        matches = [] if key is None else _lookup(world, lookup, str(key))
    if len(matches) > 1:
        return _skipped("1007", "Multiple lead match lookup criteria")
    if matches:
        if action == "createOnly":
            return _skipped("1005", "Lead already exists")
        record_changes(world, matches[0], fields, described, now)
        world.update_lead(matches[0], {**fields, "updatedAt": stamp})
        return {"id": matches[0]["id"], "status": "updated"}
    if action == "updateOnly":
        return _skipped("1004", "Lead not found")
    lead_id = world.next_lead_id()
    lead = {**fields, "id": lead_id, "createdAt": stamp, "updatedAt": stamp}
    world.add_lead(lead)
    record_new_lead(world, lead, now)
    return {"id": lead_id, "status": "created"}
