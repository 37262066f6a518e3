"""What a config gets for what it leaves out: the schema's ``default`` values, read once.

>>> CAMPAIGN["retrigger"], CAMPAIGN["max_invalid"], LIMITS["calls"]
('never', 0, 100)

The JSON Schema (written by ``tools/schema_source.py``) is the one place a default is
written: editors show it, ``docs/configuration.md`` is generated from it, and these
tables are read from it.  ``model``'s records take their field defaults from them (so a
``Limits()`` or ``Campaign(...)`` built in code agrees with a loaded file) and
``validate.build_config`` fills what a file leaves out from the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mktsync.config.schema import schema


def defaults_at(*where: str | int) -> Mapping[str, Any]:
    """The ``default`` of every property of the object schema at ``where`` (keys from the root)."""
    node: Any = schema()
    for key in where:
        node = node[key]
    found = {
        name: rule["default"]
        for name, rule in node.get("properties", {}).items()
        if isinstance(rule, dict) and "default" in rule
    }
    return MappingProxyType(found)


def filled(written: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``written`` (a mapping of the file) with what it leaves out taken from ``defaults``.

    >>> filled({"retrigger": "on_change"}, CAMPAIGN)["missing_leads"]
    'fail'
    """
    return {**defaults, **written}


def source_defaults(kind: str) -> Mapping[str, Any]:
    """The defaults of one kind of source (``sql``: ``chunk_size``, ``timeout_seconds``)."""
    branches = schema()["$defs"]["source"]["allOf"]
    (index,) = [i for i, b in enumerate(branches) if b["if"]["properties"]["type"]["const"] == kind]
    return defaults_at("$defs", "source", "allOf", index, "then")


TOP = defaults_at()  # ledger, timezone, max_value_bytes
LIMITS = defaults_at("$defs", "marketo", "properties", "limits")
CAMPAIGN = defaults_at("$defs", "campaign")
ALLOWED_FIELD = defaults_at("$defs", "campaign", "properties", "allow_protected_fields", "items")
SCHEDULE = defaults_at("$defs", "schedule")
