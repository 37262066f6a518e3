"""Lead field schema: ``describe2.json``, the searchable fields, and the per-field checks of
a ``leads.json`` sync.

Standard fields are described with Marketo's types; custom fields come from the seed's
``lead_fields`` (``name``, ``displayName``, ``dataType``, ``length``, ``readOnly``).  A field
any seeded lead carries is described as a ``string`` of length 255 (docs/emulator.md).

Invariant: the fields a lookup accepts (``filterType``, a sync's ``lookupField``) are exactly
the ``searchableFields`` describe2 lists (:func:`searchable`), as Adobe's *Leads* page says:
"Call the Describe2 endpoint to retrieve the searchable fields allowed for filterType".

>>> check_value({"name": "x", "dataType": "string", "length": 3}, "abcd")
'1003'
"""

from __future__ import annotations

from typing import Any

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import Outcome
from mktsync.emulator.world import World

READ_ONLY = frozenset({"id", "createdAt", "updatedAt", "cookies", "leadPartitionId"})
# Consent flags (issue 25): booleans on every instance.  Adobe's standard-field list gives
# unsubscribed, doNotCall and emailInvalid; the others are named in Adobe's blog's
# describe2 excerpt ("How to Retrieve Every Person"); their types are ours (docs/emulator.md).
CONSENT_FLAGS = frozenset(
    {
        "unsubscribed",
        "marketingSuspended",
        "doNotCall",
        "blackListed",
        "emailInvalid",
        "emailSuspended",
    }
)
CONSENT_TEXTS = frozenset(
    {
        "unsubscribedReason",
        "marketingSuspendedCause",
        "doNotCallReason",
        "blackListedCause",
        "emailInvalidCause",
        "emailSuspendedCause",
    }
)
# What leads.json answers when a call names no fields.
DEFAULT_FIELDS = ("id", "email", "updatedAt", "createdAt", "firstName", "lastName")
STANDARD_FIELDS = frozenset(
    {
        *DEFAULT_FIELDS,
        "company",
        "title",
        "phone",
        "city",
        "state",
        "country",
        "postalCode",
        "unsubscribed",
        "leadSource",
        "cookies",
        "facebookId",
        "leadPartitionId",
        "linkedInId",
        "sfdcAccountId",
        "sfdcContactId",
        "sfdcLeadId",
        "sfdcLeadOwnerId",
        "sfdcOpptyId",
        "twitterId",
        *CONSENT_FLAGS,  # issue 25: booleans, kept as booleans by a sync
        *CONSENT_TEXTS,
    }
)
# Adobe (Swagger ``getLeadsByFilterTypeUsingGET``): "Any custom field (string, email, or
# integer types only), and any of the following fields are supported: cookies, email,
# facebookId, id, leadPartitionId, linkedInId, sfdcAccountId, sfdcContactId, sfdcLeadId,
# sfdcLeadOwnerId, sfdcOpptyId, twitterId".
SEARCHABLE_STANDARD = (
    "email",
    "id",
    "cookies",
    "facebookId",
    "leadPartitionId",
    "linkedInId",
    "sfdcAccountId",
    "sfdcContactId",
    "sfdcLeadId",
    "sfdcLeadOwnerId",
    "sfdcOpptyId",
    "twitterId",
)
SEARCHABLE_TYPES = frozenset({"string", "email", "integer"})  # of a custom field
TYPES = {
    "id": "integer",
    "createdAt": "datetime",
    "updatedAt": "datetime",
    **dict.fromkeys(CONSENT_FLAGS, "boolean"),
    "leadPartitionId": "integer",
    "email": "email",
    "phone": "phone",
}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
LENGTHS = {"string": 255, "email": 255, "phone": 255, "url": 255, "text": 65535}
DATA_TYPES = frozenset({*LENGTHS, "integer", "float", "boolean", "date", "datetime"})


def schema_entry(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """One seeded ``lead_fields`` entry, checked and completed."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"seed: {where}.name is required")
    data_type = str(raw.get("dataType", "string"))
    if data_type not in DATA_TYPES:
        raise ValueError(f"seed: {where}.dataType must be one of {sorted(DATA_TYPES)}")
    return {
        "name": name,
        "displayName": str(raw.get("displayName", name)),
        "dataType": data_type,
        "length": int(raw.get("length", LENGTHS.get(data_type, 0))) or None,
        "readOnly": bool(raw.get("readOnly", False)),
    }


def schema(world: World) -> dict[str, dict[str, Any]]:
    """Every field the instance has, by API name: standard, seeded and carried by leads."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(STANDARD_FIELDS | world.lead_fields):
        data_type = TYPES.get(name, "string")
        out[name] = {
            "name": name,
            "displayName": name[:1].upper() + name[1:],
            "dataType": data_type,
            "length": LENGTHS.get(data_type),
            "readOnly": name in READ_ONLY,
        }
    out.update(world.field_schema)
    return out


def searchable(world: World) -> list[str]:
    """The fields a lookup may use, in describe2's order: Adobe's standard searchable
    fields, then every custom field of type string, email or integer (seeded, or carried by
    a seeded lead, which makes it a string).  Standard fields not in Adobe's list (names,
    dates, consent flags, ``company`` ...) are not searchable, whatever their type."""
    custom = [
        name
        for name, entry in schema(world).items()
        if (name in world.field_schema or name not in STANDARD_FIELDS)
        and entry["dataType"] in SEARCHABLE_TYPES
    ]
    return [*SEARCHABLE_STANDARD, *(n for n in custom if n not in SEARCHABLE_STANDARD)]


def describe2(call: Call, world: World) -> Outcome:
    """``GET /rest/v1/leads/describe2.json``: one result with every field."""
    fields = [
        {
            "name": f["name"],
            "displayName": f["displayName"],
            "dataType": f["dataType"],
            **({"length": f["length"]} if f["length"] else {}),
            "updateable": not f["readOnly"],
            "crmManaged": False,
        }
        for f in schema(world).values()
    ]
    searchable_fields = [[name] for name in searchable(world)]
    result = {"name": "API Lead", "searchableFields": searchable_fields, "fields": fields}
    return Outcome(result=[result])


def field_ids(world: World) -> dict[str, tuple[int, str]]:
    """Each field's ``describe.json`` id and display name, by API name (a "Change Data
    Value" activity names the field it changed by these)."""
    return {f["name"]: (n, f["displayName"]) for n, f in enumerate(schema(world).values(), start=1)}


def describe(call: Call, world: World) -> Outcome:
    """``GET /rest/v1/leads/describe.json``: one result per field, REST names under ``rest``."""
    return Outcome(
        result=[
            {
                "id": n,
                "displayName": f["displayName"],
                "dataType": f["dataType"],
                **({"length": f["length"]} if f["length"] else {}),
                "rest": {"name": f["name"], "readOnly": f["readOnly"]},
            }
            for n, f in enumerate(schema(world).values(), start=1)
        ]
    )


def check_value(entry: dict[str, Any], value: Any) -> str | None:
    """``None`` if ``value`` fits the field, else Marketo's reason code (``1003``)."""
    if value is None:
        return None
    data_type, length = entry["dataType"], entry.get("length")
    if data_type == "integer":
        ok = isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
        return None if ok else "1003"
    if data_type == "float":
        try:
            float(value)
        except (TypeError, ValueError):
            return "1003"
        return None
    if data_type == "boolean":
        ok = isinstance(value, bool) or str(value).strip().lower() in _BOOLEANS
        return None if ok else "1003"
    if length is not None and len(str(value)) > length:
        return "1003"
    return None


def stored(world: World, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as the lead keeps them: a boolean field's ``"true"``/``"1"``/``"false"``/
    ``"0"`` (any case) becomes ``true``/``false``, as Marketo answers booleans in JSON.
    Called after :func:`field_problem` accepted the values."""
    out = dict(fields)
    for name, value in fields.items():
        seeded = world.field_schema.get(name)  # a seeded field wins, as in `schema`
        data_type = seeded["dataType"] if seeded else TYPES.get(name)
        if data_type == "boolean" and isinstance(value, str):
            out[name] = _BOOLEANS.get(value.strip().lower(), value)
    return out


def field_problem(world: World, fields: dict[str, Any]) -> tuple[str, str] | None:
    """The first reason a record's fields are refused: 1006 unknown, 1003 bad value."""
    known = schema(world)
    for name, value in fields.items():
        entry = known.get(name)
        if entry is None:
            return "1006", f"Field '{name}' not found"
        if check_value(entry, value) is not None:
            text = str(value)
            shown = text if len(text) <= 40 else text[:37] + "..."
            return "1003", f"Invalid value for field '{name}' and value '{shown}'"
    return None
