"""Seeds: the clients, programs, campaigns and leads an emulator starts with.

::

    clients: [{client_id: abc, client_secret: s3cret}]
    programs:
      - {id: 1001, name: Webinars, tokens: [{name: WebinarTitle, type: text, value: ""}], nested: false}
    campaigns:
      - {id: 1234, name: Webinar reminder, type: trigger, active: true, requestable: true, program_id: 1001}
    leads:
      - {id: 318592, email: ada@example.com, firstName: Ada}
    faults: {rates: {"606": 0.05}, script: [{endpoint: trigger, nth: 7, fault: lost}], seed: 1}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mktsync.emulator.world import CampaignRecord, Program, World, lead_db_time

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
    unknown = set(seed) - {"clients", "programs", "campaigns", "leads", "faults"}
    if unknown:
        raise ValueError(f"seed: unknown keys {sorted(unknown)}")
    world = World()
    for i, raw in enumerate(_items(seed.get("programs") or [], "programs")):
        program = Program(id=int(raw["id"]), name=str(raw["name"]), nested=bool(raw.get("nested")))
        for token in _items(raw.get("tokens") or [], f"programs[{i}].tokens"):
            name, kind = str(token["name"]), str(token.get("type", "text"))
            if kind not in TOKEN_TYPES or len(name) > 50:
                raise ValueError(f"seed: programs[{i}] token {name!r} has a bad type or name")
            program.tokens[name] = {"type": kind, "value": str(token.get("value", ""))}
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
        )
        if campaign.type not in ("trigger", "batch"):
            raise ValueError(f"seed: campaigns[{i}].type must be trigger or batch")
        if campaign.program_id not in world.programs:
            raise ValueError(
                f"seed: campaigns[{i}].program_id {campaign.program_id} is not a program"
            )
        world.campaigns[campaign.id] = campaign
    stamp = lead_db_time()
    for raw in _items(seed.get("leads") or [], "leads"):
        lead = {"createdAt": stamp, "updatedAt": stamp, **raw}
        lead["id"] = int(raw["id"])
        world.leads[lead["id"]] = lead
    return world


def faults_of(seed: Mapping[str, Any] | None) -> Mapping[str, Any]:
    faults = (seed or {}).get("faults") or {}
    if not isinstance(faults, Mapping):
        raise ValueError("seed: faults must be a mapping")
    return faults


def _items(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValueError(f"seed: {where} must be a list of mappings")
    return value
