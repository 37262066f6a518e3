"""The activity types the emulator logs, as ``GET /rest/v1/activities/types.json`` serves them.

Every type the emulator can write into a lead's log is described here with Adobe's id, its
primary attribute and the attributes its activities carry, so a client that reads the
catalog first (as Adobe's *Activities* page advises) finds each id it will meet.  The shape
(``id``, ``name``, ``description``, ``primaryAttribute`` {``name``, ``dataType``},
``attributes`` [{``name``, ``dataType``}]) is Adobe's (``ActivityType`` in the Swagger
spec); docs/emulator.md says, type by type, what backs each entry.

Invariant: every attribute name an activity of one of these types carries in the log is
declared for that type (a test checks it).

>>> [t["id"] for t in ACTIVITY_TYPES]
[1, 2, 6, 12, 13, 47]
"""

from __future__ import annotations

from typing import Any

from mktsync.emulator.call import Call
from mktsync.emulator.envelope import Outcome
from mktsync.emulator.world import World

VISIT_WEBPAGE = 1
FILL_OUT_FORM = 2
SEND_EMAIL = 6
NEW_LEAD = 12
CHANGE_DATA_VALUE = 13
REQUEST_CAMPAIGN = 47

# What the emulator writes into activities it logs through the API ("Web service API" is
# how Adobe's Get Lead Changes example names an API change's Reason and Source).
API_SOURCE = "Web service API"


def _attrs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "dataType": data_type} for name, data_type in pairs]


ACTIVITY_TYPES: tuple[dict[str, Any], ...] = (
    {
        "id": VISIT_WEBPAGE,
        "name": "Visit Webpage",
        "description": "User visits a web page",
        "primaryAttribute": {"name": "Webpage ID", "dataType": "integer"},
        "attributes": _attrs(
            ("Client IP Address", "string"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("Search Engine", "string"),
            ("Search Query", "string"),
            ("User Agent", "string"),
            ("Webpage URL", "string"),
        ),
    },
    {
        "id": FILL_OUT_FORM,
        "name": "Fill Out Form",
        "description": "User fills out and submits form on web page",
        "primaryAttribute": {"name": "Webform ID", "dataType": "integer"},
        "attributes": _attrs(
            ("Client IP Address", "string"),
            ("Form Fields", "text"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("User Agent", "string"),
            ("Webpage ID", "integer"),
        ),
    },
    {
        "id": SEND_EMAIL,
        "name": "Send Email",
        "description": "Send Marketo Email to a person",
        "primaryAttribute": {"name": "Mailing ID", "dataType": "integer"},
        "attributes": _attrs(
            ("Campaign Run ID", "integer"),
            ("Choice Number", "integer"),
            ("Step ID", "integer"),
        ),
    },
    {
        "id": NEW_LEAD,
        "name": "New Lead",
        "description": "New person/record is added to the lead database",
        "primaryAttribute": {"name": "Lead ID", "dataType": "integer"},
        "attributes": _attrs(
            ("Created Date", "date"),
            ("Form Name", "string"),
            ("Lead Source", "string"),
            ("List Name", "string"),
            ("SFDC Type", "string"),
            ("Source Type", "string"),
        ),
    },
    {
        "id": CHANGE_DATA_VALUE,
        "name": "Change Data Value",
        "description": "Changed attribute value for a person/record",
        "primaryAttribute": {"name": "Attribute Name", "dataType": "integer"},
        "attributes": _attrs(
            ("New Value", "string"),
            ("Old Value", "string"),
            ("Reason", "string"),
            ("Source", "string"),
        ),
    },
    {
        "id": REQUEST_CAMPAIGN,
        "name": "Request Campaign",
        "description": "Request a campaign to run for a person",
        "primaryAttribute": {"name": "Campaign ID", "dataType": "integer"},
        "attributes": _attrs(("Source", "string")),
    },
)
TYPE_IDS = frozenset(t["id"] for t in ACTIVITY_TYPES)


def activity_types(call: Call, world: World) -> Outcome:
    """``GET /rest/v1/activities/types.json``: every type the emulator logs."""
    return Outcome(result=[dict(t) for t in ACTIVITY_TYPES])
