"""Seeds: the clients, programs, campaigns and leads an emulator starts with.

::

    clients: [{client_id: abc, client_secret: s3cret}]
    folders:
      - {id: 10, name: Marketing, tokens: [{name: CompanyName, type: text, value: Acme}]}
      - {id: 11, name: Events, parent_id: 10}
    programs:
      - {id: 1001, name: Webinars, folder_id: 11, nested: false,
         tokens: [{name: WebinarTitle, type: text, value: ""}]}
    campaigns:
      - {id: 1234, name: Webinar reminder, type: trigger, active: true, requestable: true,
         program_id: 1001, qualification: {rule: once}}
    leads:
      - {id: 318592, email: ada@example.com, firstName: Ada}
    faults: {rates: {"606": 0.05}, script: [{endpoint: trigger, nth: 7, fault: lost}], seed: 1}
    usage: [{userId: crm@example.com, count: 46000}, {userId: bi@example.com, count: 900, days_ago: 1}]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mktsync.emulator.lead_fields import schema_entry
from mktsync.emulator.usage import seed_usage
from mktsync.emulator.world import (
    ROOT_FOLDER_ID,
    RULES,
    UNITS,
    WORKSPACE_FOLDER_ID,
    CampaignRecord,
    Folder,
    Program,
    Qualification,
    World,
    lead_db_time,
)

# With no seed (or a seed without clients) this one client exists; documented in
# docs/emulator.md so demos and tests can use it without configuration.
DEMO_CLIENT_ID = "mktsync-demo"
DEMO_CLIENT_SECRET = "mktsync-demo-secret"
TOKEN_TYPES = ("date", "number", "rich text", "score", "sfdc campaign", "text")


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read a seed file: JSON when it ends in ``.json``, else YAML (safe_load)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a seed must be a mapping at the top level")
    return data


def clients_of(seed: Mapping[str, Any] | None) -> dict[str, str]:
    entries = (seed or {}).get("clients") or []
    clients = {str(c["client_id"]): str(c["client_secret"]) for c in _items(entries, "clients")}
    return clients or {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}


def build_world(seed: Mapping[str, Any] | None) -> World:
    """A fresh World from a seed; raises ValueError naming the first bad entry."""
    try:
        return _build_world(seed or {})
    except KeyError as err:
        raise ValueError(f"seed: an entry lacks the required key {err}") from None
    except TypeError as err:
        raise ValueError(f"seed: a value has the wrong type ({err})") from None


def _build_world(seed: Mapping[str, Any]) -> World:
    unknown = set(seed) - {
        "clients",
        "folders",
        "programs",
        "campaigns",
        "leads",
        "lead_fields",
        "faults",
        "usage",
    }
    if unknown:
        raise ValueError(f"seed: unknown keys {sorted(unknown)}")
    world = World()
    _add_folders(world, seed.get("folders") or [])
    for i, raw in enumerate(_items(seed.get("programs") or [], "programs")):
        folder_id = raw.get("folder_id")
        program = Program(
            id=int(raw["id"]),
            name=str(raw["name"]),
            nested=bool(raw.get("nested")),
            folder_id=WORKSPACE_FOLDER_ID if folder_id is None else int(folder_id),
        )
        if program.folder_id is not None and program.folder_id not in world.folders:
            raise ValueError(f"seed: programs[{i}].folder_id {program.folder_id} is not a folder")
        program.tokens = _tokens(raw, f"programs[{i}]")
        world.programs[program.id] = program
    for i, raw in enumerate(_items(seed.get("campaigns") or [], "campaigns")):
        campaign = CampaignRecord(
            id=int(raw["id"]),
            name=str(raw["name"]),
            type=str(raw.get("type", "trigger")),
            active=bool(raw.get("active", True)),
            requestable=bool(raw.get("requestable", True)),
            program_id=int(raw["program_id"]),
            description=str(raw.get("description", "")),
            qualification=qualification_of(raw.get("qualification"), f"campaigns[{i}]"),
        )
        if campaign.type not in ("trigger", "batch"):
            raise ValueError(f"seed: campaigns[{i}].type must be trigger or batch")
        if campaign.program_id not in world.programs:
            raise ValueError(
                f"seed: campaigns[{i}].program_id {campaign.program_id} is not a program"
            )
        world.campaigns[campaign.id] = campaign
    for i, raw in enumerate(_items(seed.get("lead_fields") or [], "lead_fields")):
        entry = schema_entry(dict(raw), f"lead_fields[{i}]")
        world.field_schema[entry["name"]] = entry
    stamp = lead_db_time()
    for raw in _items(seed.get("leads") or [], "leads"):
        lead = {"createdAt": stamp, "updatedAt": stamp, **raw}
        lead["id"] = int(raw["id"])
        world.add_lead(lead)
    seed_usage(world.usage, seed.get("usage") or [])
    return world


def _tokens(raw: Mapping[str, Any], where: str) -> dict[str, dict[str, str]]:
    tokens: dict[str, dict[str, str]] = {}
    for token in _items(raw.get("tokens") or [], f"{where}.tokens"):
        name, kind = str(token["name"]), str(token.get("type", "text"))
        if kind not in TOKEN_TYPES or len(name) > 50:
            raise ValueError(f"seed: {where} token {name!r} has a bad type or name")
        tokens[name] = {"type": kind, "value": str(token.get("value", ""))}
    return tokens


def _add_folders(world: World, entries: Any) -> None:
    """Folders in any order; each ``parent_id`` must name another folder, no cycles.  A
    folder without ``parent_id`` sits in the workspace folder; the two system folders'
    ids are taken."""
    raws = _items(entries, "folders")
    seeded: list[Folder] = []
    for i, raw in enumerate(raws):
        parent = raw.get("parent_id")
        folder = Folder(
            id=int(raw["id"]),
            name=str(raw["name"]),
            parent_id=WORKSPACE_FOLDER_ID if parent is None else int(parent),
            tokens=_tokens(raw, f"folders[{i}]"),
        )
        if folder.id in (ROOT_FOLDER_ID, WORKSPACE_FOLDER_ID):
            raise ValueError(
                f"seed: folders[{i}].id {folder.id} is a system folder's "
                f"(Marketing Activities {ROOT_FOLDER_ID}, its workspace {WORKSPACE_FOLDER_ID})"
            )
        if folder.id in world.folders:
            raise ValueError(f"seed: folders[{i}].id {folder.id} is given twice")
        world.folders[folder.id] = folder
        seeded.append(folder)
    for i, folder in enumerate(seeded):
        seen = {folder.id}
        parent = folder.parent_id
        while parent is not None:
            if parent not in world.folders:
                raise ValueError(f"seed: folders[{i}].parent_id {parent} is not a folder")
            if parent in seen:
                raise ValueError(f"seed: folders[{i}] is its own ancestor")
            seen.add(parent)
            parent = world.folders[parent].parent_id


def qualification_of(raw: Any, where: str) -> Qualification:
    """``{rule: once}``, ``{rule: any}`` or ``{rule: interval, every: 1, unit: day}``."""
    if raw is None:
        return Qualification()
    if isinstance(raw, str):
        raw = {"rule": raw}
    if not isinstance(raw, Mapping):
        raise ValueError(f"seed: {where}.qualification must be a mapping")
    rule = str(raw.get("rule", "once"))
    if rule not in RULES:
        raise ValueError(f"seed: {where}.qualification.rule must be one of {', '.join(RULES)}")
    if rule != "interval":
        return Qualification(rule=rule)
    unit = str(raw.get("unit", "day"))
    if unit not in UNITS:
        raise ValueError(f"seed: {where}.qualification.unit must be one of {', '.join(UNITS)}")
    return Qualification(rule=rule, every=int(raw.get("every", 1)), unit=unit)


def faults_of(seed: Mapping[str, Any] | None) -> Mapping[str, Any]:
    faults = (seed or {}).get("faults") or {}
    if not isinstance(faults, Mapping):
        raise ValueError("seed: faults must be a mapping")
    return faults


def _items(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValueError(f"seed: {where} must be a list of mappings")
    return value
