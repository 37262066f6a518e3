"""Campaign endpoints: get one, list, asset smart campaign, trigger (request), schedule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mktsync.emulator.activity_routes import record_requests
from mktsync.emulator.call import Call, iso_datetime, page
from mktsync.emulator.envelope import ApiError, Outcome
from mktsync.emulator.qualification import qualify, rule_json
from mktsync.emulator.world import CampaignRecord, World, asset_time, lead_db_time

MAX_LEADS = 100
MAX_TOKENS = 100
_TOKEN_NAME = re.compile(r"^\{\{my\.([^{}]+)\}\}$")
_NOT_FOUND = "No assets found for the given search criteria."


def find_campaign(world: World, campaign_id: int) -> CampaignRecord:
    campaign = world.campaigns.get(campaign_id)
    if campaign is None:
        raise ApiError("1013", f"Campaign '{campaign_id}' not found")
    return campaign


def campaign_json(world: World, c: CampaignRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "type": c.type,
        "programName": world.programs[c.program_id].name,
        "programId": c.program_id,
        "workspaceName": "Default",
        "createdAt": lead_db_time(c.created_at),
        "updatedAt": lead_db_time(c.created_at),
        "active": c.active,
    }


def get_campaign(call: Call, world: World) -> Outcome:
    return Outcome(result=[campaign_json(world, find_campaign(world, call.ids[0]))])


def list_campaigns(call: Call, world: World) -> Outcome:
    ids, names = set(call.ints("id")), set(call.csv("name"))
    programs, workspaces = set(call.csv("programName")), set(call.csv("workspaceName"))
    only_triggerable = (call.param("isTriggerable") or "").lower() == "true"
    rows = [
        campaign_json(world, c)
        for c in sorted(world.campaigns.values(), key=lambda c: c.id)
        if (not ids or c.id in ids)
        and (not names or c.name in names)
        and (not programs or world.programs[c.program_id].name in programs)
        and (not workspaces or "Default" in workspaces)
        and (not only_triggerable or c.triggerable)
    ]
    chunk, extra = page(call, rows, "campaigns")
    return Outcome(result=chunk, extra=extra)


def smart_campaign(call: Call, world: World) -> Outcome:
    c = world.campaigns.get(call.ids[0])
    if c is None:
        # Asset lookups that find nothing answer success with a warning and no result.
        return Outcome(result=None, warnings=[_NOT_FOUND])
    status = ("Active" if c.active else "Inactive") if c.type == "trigger" else "Never Run"
    return Outcome(
        result=[
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "createdAt": asset_time(c.created_at),
                "updatedAt": asset_time(c.created_at),
                "folder": {"id": c.program_id, "type": "Program"},
                "status": status,
                "type": c.type,
                "isSystem": False,
                "isActive": c.active and c.type == "trigger",
                "isRequestable": c.triggerable,
                "isCommunicationLimitEnabled": False,
                "recurrence": {"weekdayOnly": False},
                **rule_json(c.qualification),
                "workspace": "Default",
                "smartListId": c.id + 500_000,
                "flowId": c.id + 600_000,
                "parentProgramId": c.program_id,
                "computedUrl": f"https://app-emulator.marketo.com/#SC{c.id}A1",
            }
        ]
    )


def override_tokens(world: World, c: CampaignRecord, raw: Any) -> dict[str, str]:
    """Validate ``input.tokens``: ``{{my.Name}}`` names available to the campaign (on its
    program or inherited from the program's folders), string values."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ApiError("1003", "tokens must be a list")
    if len(raw) > MAX_TOKENS:
        raise ApiError("1003", f"Too many tokens: at most {MAX_TOKENS} per call")
    program = world.programs[c.program_id]
    available = world.available_tokens(program)
    tokens: dict[str, str] = {}
    for token in raw:
        if not isinstance(token, dict) or set(token) != {"name", "value"}:
            raise ApiError("1003", "Each token must be an object with name and value")
        name, value = token["name"], token["value"]
        match = _TOKEN_NAME.match(name) if isinstance(name, str) else None
        if match is None or not isinstance(value, str):
            raise ApiError("1003", f"Invalid token {name!r}: name must be {{{{my.Name}}}}")
        if match.group(1) not in available:
            raise ApiError(
                "1003", f"Token '{name}' not found in program '{program.name}' or its folders"
            )
        if name in tokens:
            raise ApiError("1003", f"Token '{name}' given twice")
        tokens[name] = value
    if tokens and program.nested:
        # The nested-program quirk: a campaign in a program inside a program fails with 611.
        raise ApiError("611", "System error")
    return tokens


def trigger(call: Call, world: World) -> Outcome:
    c = find_campaign(world, call.ids[0])
    if c.type != "trigger":
        raise ApiError("1003", f"Campaign '{c.id}' is a batch campaign; it cannot be requested")
    if not c.triggerable:
        raise ApiError("1003", f"Campaign '{c.id}' is not active or cannot be requested by API")
    body = call.json if isinstance(call.json, dict) else {}
    data = body.get("input")
    if not isinstance(data, dict) or "leads" not in data:
        raise ApiError("1002", "Missing value for required parameter 'input.leads'")
    leads = data["leads"]
    if not isinstance(leads, list) or not leads:
        raise ApiError("1003", "input.leads must be a non-empty list")
    if len(leads) > MAX_LEADS:
        raise ApiError("1003", f"Too many leads: at most {MAX_LEADS} per call")
    lead_ids: list[int] = []
    for lead in leads:
        ok = isinstance(lead, dict) and set(lead) == {"id"} and type(lead["id"]) is int
        if not ok:
            raise ApiError("1003", "Each lead must be an object with only an integer id")
        lead_ids.append(lead["id"])
    tokens = override_tokens(world, c, data.get("tokens"))
    missing = [i for i in lead_ids if i not in world.leads]
    if missing and call.options.unknown_leads == "reject":
        raise ApiError("1004", f"Lead not found: {', '.join(map(str, missing[:10]))}")
    known = [i for i in lead_ids if i in world.leads]
    now = datetime.now(UTC)
    ran, skipped = qualify(world, c, known, now)
    world.triggers.append(
        {
            "campaign_id": c.id,
            "lead_ids": known,
            "ran": ran,
            "skipped": skipped,
            "tokens": tokens,
            "time": now.isoformat(),
            "request_id": call.request_id,
        }
    )
    # The request reached every known lead, whether or not qualification let the flow run.
    record_requests(world, c, list(dict.fromkeys(known)), now, ran)
    return Outcome(result=[{"id": c.id}])


def parse_run_at(text: Any) -> datetime:
    moment = iso_datetime(text) if isinstance(text, str) else None
    if moment is None:
        raise ApiError("1042", "Invalid runAt date")
    if moment.tzinfo is None:
        raise ApiError("1042", "Invalid runAt date: a UTC offset is required")
    return moment


def schedule(call: Call, world: World) -> Outcome:
    c = find_campaign(world, call.ids[0])
    if c.type != "batch":
        raise ApiError(
            "1003", f"Campaign '{c.id}' is a trigger campaign; only batch can be scheduled"
        )
    body = call.json if call.json is not None else {}
    data = body.get("input", {}) if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiError("1003", "input must be an object")
    now = datetime.now(UTC)
    earliest = now + timedelta(minutes=5)
    run_at = earliest if data.get("runAt") is None else parse_run_at(data["runAt"])
    if run_at < now or run_at > now + timedelta(days=730):
        raise ApiError("1042", "Invalid runAt date")
    tokens = override_tokens(world, c, data.get("tokens"))
    clone = data.get("cloneToProgramName")
    if clone is not None:
        day = now.date().isoformat()
        if world.clones_by_day.get(day, 0) >= call.options.clone_daily_cap:
            raise ApiError("1020", "Too many clones to program")
        world.clones_by_day[day] = world.clones_by_day.get(day, 0) + 1
    world.schedules.append(
        {
            "campaign_id": c.id,
            "run_at": max(run_at, earliest).isoformat(),
            "tokens": tokens,
            "clone_to_program_name": clone,
            "time": now.isoformat(),
            "request_id": call.request_id,
        }
    )
    return Outcome(result=[{"id": c.id}])
