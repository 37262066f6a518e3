"""Lead fields (issue 15): the instance's field schema, and writing field values to leads.

``update_lead_fields`` is idempotent (the same values written again change nothing), so it
is retried like a read: a crash or a lost answer between it and the trigger only means the
next run writes the same values again before triggering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mktsync.marketo.leads import chunks
from mktsync.marketo.transport import SYNC_TIMEOUT, Caller

MAX_SYNC_RECORDS = 300


@dataclass(frozen=True, kw_only=True)
class LeadField:
    """One lead field as ``describe2.json`` gives it."""

    name: str
    display_name: str
    data_type: str
    writable: bool


def describe_lead_fields(caller: Caller) -> dict[str, LeadField]:
    """Every lead field of the instance by REST API name (one call)."""
    body = caller.call("leads_describe2", "GET", "/rest/v1/leads/describe2.json", idempotent=True)
    out: dict[str, LeadField] = {}
    for result in body.get("result") or []:
        for f in result.get("fields") or [] if isinstance(result, Mapping) else []:
            if isinstance(f, Mapping) and isinstance(f.get("name"), str):
                out[f["name"]] = LeadField(
                    name=f["name"],
                    display_name=str(f.get("displayName", f["name"])),
                    data_type=str(f.get("dataType", "string")),
                    writable=bool(f.get("updateable", True)),
                )
    return out


def update_lead_fields(
    caller: Caller, records: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str] | None]:
    """Write fields to leads by id (``updateOnly``, 300 a call); per record ``None`` when
    written, else Marketo's ``(code, message)`` for the skipped record, in input order."""
    out: list[tuple[str, str] | None] = []
    for batch in chunks(list(records), MAX_SYNC_RECORDS):
        body = caller.call(
            "leads_sync",
            "POST",
            "/rest/v1/leads.json",
            json_body={"action": "updateOnly", "lookupField": "id", "input": list(batch)},
            idempotent=True,
            timeout=SYNC_TIMEOUT,
        )
        answers = list(body.get("result") or [])
        for i in range(len(batch)):
            a = answers[i] if i < len(answers) and isinstance(answers[i], Mapping) else {}
            if a.get("status") in ("updated", "created"):
                out.append(None)
                continue
            reasons = [r for r in a.get("reasons") or [] if isinstance(r, Mapping)]
            first = reasons[0] if reasons else {}
            out.append(
                (str(first.get("code", "")), str(first.get("message", "no result for this lead")))
            )
    return out
