"""The emulated instance's data: programs and their My Tokens, campaigns, leads, and what ran.

The app holds ``World.lock`` while an endpoint runs, so endpoint code reads and writes these
fields freely; nothing else touches them without the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def lead_db_time(moment: datetime | None = None) -> str:
    """Lead-database timestamps look like ``2016-05-17T22:11:45Z``."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_time(moment: datetime | None = None) -> str:
    """Asset timestamps keep Marketo's odd ``2019-08-13T00:45:21Z+0000`` form."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ+0000")


@dataclass(kw_only=True)
class Program:
    """A program (also the folder its My Tokens live in); ``tokens`` maps bare name -> token."""

    id: int
    name: str
    nested: bool = False
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CampaignRecord:
    """A smart campaign: ``type`` is ``trigger`` or ``batch``."""

    id: int
    name: str
    type: str
    active: bool
    requestable: bool
    program_id: int
    description: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def triggerable(self) -> bool:
        # isRequestable is "active AND has a Web Service API 'Campaign is Requested' trigger".
        return self.type == "trigger" and self.active and self.requestable


@dataclass(kw_only=True)
class World:
    """Everything a seed describes, plus the triggers and schedules carried out since."""

    programs: dict[int, Program] = field(default_factory=dict)
    campaigns: dict[int, CampaignRecord] = field(default_factory=dict)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    clones_by_day: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def next_lead_id(self) -> int:
        return max(self.leads, default=1_000_000) + 1

    def leads_by_email(self, email: str) -> list[dict[str, Any]]:
        wanted = email.casefold()
        return [
            lead
            for lead in self.leads.values()
            if str(lead.get("email") or "").casefold() == wanted
        ]
