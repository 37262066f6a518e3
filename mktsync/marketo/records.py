"""Frozen records the client returns (never Marketo's raw dicts).

>>> TriggerResult(request_id="9e01#161d922f1aa", campaign_id=1234)
TriggerResult(request_id='9e01#161d922f1aa', campaign_id=1234)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class TriggerResult:
    """Marketo accepted a trigger call; it reports no per-lead outcome, only its requestId."""

    request_id: str
    campaign_id: int


@dataclass(frozen=True, kw_only=True)
class CampaignInfo:
    """A campaign as the lead-database API sees it (``GET /rest/v1/campaigns/{id}.json``)."""

    id: int
    name: str
    type: str  # "trigger" | "batch"
    active: bool
    program_id: int | None = None
    program_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Qualification:
    """A smart campaign's qualification rule (asset API ``qualificationRuleType`` and kin).

    ``once``: a lead runs through the flow once, ever; ``any``: every time it is requested;
    ``interval``: at most once per ``interval`` ``unit``.  Leads that do not qualify are
    skipped by Marketo without a word in the trigger's answer.
    """

    rule: str  # "once" | "any" | "interval" (or whatever Marketo sends)
    interval: int | None = None
    unit: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Qualification | None:
        rule = record.get("qualificationRuleType")
        if not isinstance(rule, str) or not rule:
            return None
        interval = record.get("qualificationRuleInterval")
        unit = record.get("qualificationRuleUnit")
        return cls(
            rule=rule,
            interval=int(interval) if isinstance(interval, int) else None,
            unit=str(unit) if isinstance(unit, str) else None,
        )

    def describe(self) -> str:
        if self.rule == "interval" and self.interval and self.unit:
            return f"interval (once every {self.interval} {self.unit})"
        return self.rule


@dataclass(frozen=True, kw_only=True)
class SmartCampaign:
    """A smart campaign as the asset API sees it (``/rest/asset/v1/smartCampaign/{id}.json``).

    ``is_requestable`` is Marketo's own "active and has a Web Service API 'Campaign is
    Requested' trigger".
    """

    id: int
    name: str
    type: str  # "trigger" | "batch" | "default"
    is_active: bool
    is_requestable: bool
    parent_program_id: int | None = None
    qualification: Qualification | None = None


@dataclass(frozen=True, kw_only=True)
class ProgramToken:
    """One My Token of a program, by its bare name (``WebinarTitle``, not ``{{my.WebinarTitle}}``)."""

    name: str
    type: str


CreateStatus = Literal["created", "updated", "skipped"]


@dataclass(frozen=True, kw_only=True)
class CreateResult:
    """What became of one record of ``create_leads``, in input order.

    ``id`` is set when Marketo created (or updated) the lead; a skipped record has the
    first reason's code and message (e.g. ``1005`` "Lead already exists").
    """

    index: int
    status: CreateStatus
    id: int | None = None
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class PreflightResult:
    """Whether a campaign can be triggered with the given tokens; ``reasons`` say why not."""

    campaign_id: int
    ok: bool
    reasons: list[str] = field(default_factory=list)
    qualification: Qualification | None = None
    calls: int = 0  # API calls this check made (a cached token walk costs none)


@dataclass(frozen=True, kw_only=True)
class Activity:
    """One entry of a lead's activity log (``GET /rest/v1/activities.json``).

    ``primary_id`` is Marketo's ``primaryAttributeValueId``: what the activity is about,
    which depends on its type (for "Request Campaign", the campaign requested).
    ``campaign_id`` is Marketo's ``campaignId``: the smart campaign whose flow logged it,
    if any (Adobe's bulk activity export example: a status change "by Smart Campaign"
    carries that campaign's id there and the program's id as the primary attribute).
    """

    guid: str
    lead_id: int
    date: str  # as Marketo wrote it, e.g. 2026-11-30T08:00:01Z
    type_id: int
    primary_id: int | None
    campaign_id: int | None = None
