"""Qualification rules: which requested leads run through a campaign's flow, and which are skipped.

Marketo answers a trigger with success whatever the rule decides (the response carries
only the campaign id); a lead that does not qualify simply does not run.  The emulator
records both lists so inspection shows what a real instance would have done.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from mktsync.emulator.world import CampaignRecord, Qualification, World

_UNIT = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),  # a calendar month is a guess at Marketo's meaning
}


def period(q: Qualification) -> timedelta:
    return _UNIT[q.unit] * q.every


def qualify(
    world: World, campaign: CampaignRecord, lead_ids: Sequence[int], now: datetime
) -> tuple[list[int], list[dict[str, Any]]]:
    """``(ran, skipped)``: leads that run now (their run is recorded), and why the others don't."""
    q = campaign.qualification
    ran: list[int] = []
    skipped: list[dict[str, Any]] = []
    for lead_id in dict.fromkeys(lead_ids):
        last = world.ran.get((campaign.id, lead_id))
        reason = None
        if last is not None and q.rule == "once":
            reason = f"qualification rule 'once': lead already ran at {last.isoformat()}"
        elif last is not None and q.rule == "interval" and now - last < period(q):
            reason = (
                f"qualification rule 'interval' ({q.every} {q.unit}): "
                f"lead last ran at {last.isoformat()}"
            )
        if reason is None:
            world.ran[(campaign.id, lead_id)] = now
            ran.append(lead_id)
        else:
            skipped.append({"id": lead_id, "reason": reason})
    return ran, skipped


def rule_json(q: Qualification) -> dict[str, Any]:
    """The asset API's fields: ``qualificationRuleType`` (+ interval and unit for ``interval``)."""
    if q.rule != "interval":
        return {"qualificationRuleType": q.rule}
    return {
        "qualificationRuleType": "interval",
        "qualificationRuleInterval": q.every,
        "qualificationRuleUnit": q.unit,
    }
