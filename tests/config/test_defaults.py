"""Defaults are written once, in the schema: a loaded file and a record built in code agree."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from mktsync.config import load_config, schema_text
from mktsync.config.model import AllowedField, Campaign, Config, Limits, Schedule

SCHEMA = json.loads(schema_text())
DEFS = SCHEMA["$defs"]

MINIMAL = """\
version: 1
sources:
  people: {type: inline, rows: [{email: a@example.com}]}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {email: "{{ row.email }}"}
    fields: {unsubscribed: "true"}
    allow_protected_fields: [{field: unsubscribed, reason: opt-outs from events}]
schedules:
  launch: {campaign_id: 2, run_at: "2026-12-01T15:00:00+00:00"}
"""


def _defaults(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v["default"] for k, v in node["properties"].items() if "default" in v}


def _record_defaults(cls: type) -> dict[str, Any]:
    return {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }


# (the schema's object, the record it becomes, properties the record does not hold)
PAIRS = [
    (SCHEMA, Config, {"ledger"}),  # Config.ledger is an EnvString, checked below
    (DEFS["marketo"]["properties"]["limits"], Limits, set()),
    (DEFS["campaign"], Campaign, set()),
    (DEFS["campaign"]["properties"]["allow_protected_fields"]["items"], AllowedField, set()),
    (DEFS["schedule"], Schedule, set()),
]


def test_every_schema_default_is_the_record_default() -> None:
    for node, cls, apart in PAIRS:
        wanted = {k: v for k, v in _defaults(node).items() if k not in apart}
        held = _record_defaults(cls)
        assert wanted, cls
        assert {k: held.get(k) for k in wanted} == wanted, cls.__name__


def test_a_file_that_leaves_everything_out_gets_the_schema_defaults(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    config = load_config(path)
    top = _defaults(SCHEMA)
    assert config.ledger.raw == top["ledger"]
    assert (config.timezone, config.max_value_bytes) == (top["timezone"], top["max_value_bytes"])
    limits = dataclasses.asdict(config.marketo.limits)
    assert limits.pop("shared") is None  # no default: the ledger's database, or this machine
    assert limits == _defaults(DEFS["marketo"]["properties"]["limits"])
    campaign = config.campaigns["welcome"]
    for name, value in _defaults(DEFS["campaign"]).items():
        assert getattr(campaign, name) == value, name
    (allowed,) = campaign.allow_protected_fields
    assert (
        allowed.grant_consent
        is _defaults(DEFS["campaign"]["properties"]["allow_protected_fields"]["items"])[
            "grant_consent"
        ]
    )
    assert config.schedules["launch"].retrigger == _defaults(DEFS["schedule"])["retrigger"]
