"""The emulated instance's data: folders and programs with My Tokens, campaigns, leads, runs.

The app holds ``World.lock`` while an endpoint runs, so endpoint code reads and writes these
fields freely; nothing else touches them without the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mktsync.emulator.faults import ActivityFaults
from mktsync.emulator.lead_index import LeadIndex
from mktsync.emulator.usage import UsageBook


def lead_db_time(moment: datetime | None = None) -> str:
    """Lead-database timestamps look like ``2016-05-17T22:11:45Z``."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_time(moment: datetime | None = None) -> str:
    """Asset timestamps keep Marketo's odd ``2019-08-13T00:45:21Z+0000`` form."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ+0000")


# Every instance's Marketing Activities tree starts with two system ("Zone") folders: the
# root and its workspace.  Ids, names and descriptions are those of Adobe's *Folders* page
# example; a seeded folder or program without a parent sits in the workspace folder.
ROOT_FOLDER_ID = 14
WORKSPACE_FOLDER_ID = 15


@dataclass(kw_only=True)
class Folder:
    """A Marketing Activities folder; ``parent_id`` is its parent folder (None: the root).
    ``zone`` marks the two system folders at the top (root and workspace)."""

    id: int
    name: str
    parent_id: int | None = WORKSPACE_FOLDER_ID
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    zone: bool = False
    description: str = ""


def system_folders() -> dict[int, Folder]:
    """The root folder "Marketing Activities" and its workspace folder "Default"."""
    root = Folder(
        id=ROOT_FOLDER_ID,
        name="Marketing Activities",
        parent_id=None,
        zone=True,
        description="Root node for the Marketing Activities app area",
    )
    workspace = Folder(
        id=WORKSPACE_FOLDER_ID,
        name="Default",
        parent_id=ROOT_FOLDER_ID,
        zone=True,
        description="Root node of the Marketing activities Default",
    )
    return {root.id: root, workspace.id: workspace}


@dataclass(kw_only=True)
class Program:
    """A program in ``folder_id`` (by default the workspace folder); ``tokens`` maps bare
    name -> token."""

    id: int
    name: str
    nested: bool = False
    folder_id: int | None = WORKSPACE_FOLDER_ID
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)


RULES = ("once", "any", "interval")
UNITS = ("hour", "day", "week", "month")


@dataclass(frozen=True, kw_only=True)
class Qualification:
    """A campaign's qualification rule: may a lead run through it again?

    ``once``: never again; ``any``: every time; ``interval``: once per ``every`` ``unit``.
    """

    rule: str = "any"
    every: int = 1
    unit: str = "day"


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
    qualification: Qualification = field(default_factory=Qualification)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def triggerable(self) -> bool:
        # isRequestable is "active AND has a Web Service API 'Campaign is Requested' trigger".
        return self.type == "trigger" and self.active and self.requestable


@dataclass(kw_only=True)
class World:
    """Everything a seed describes, plus the triggers and schedules carried out since."""

    folders: dict[int, Folder] = field(default_factory=system_folders)
    programs: dict[int, Program] = field(default_factory=dict)
    campaigns: dict[int, CampaignRecord] = field(default_factory=dict)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    # (campaign id, lead id) -> when the lead last ran through the campaign's flow
    ran: dict[tuple[int, int], datetime] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    activity_faults: ActivityFaults = field(default_factory=ActivityFaults)  # how it pages
    clones_by_day: dict[str, int] = field(default_factory=dict)
    usage: UsageBook = field(default_factory=UsageBook, repr=False)  # stats/usage.json
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    index: LeadIndex = field(default_factory=LeadIndex, repr=False)
    lead_fields: set[str] = field(default_factory=set, repr=False)  # every field any lead has
    # Custom lead fields the seed describes (lead_fields.schema_entry), by API name.
    field_schema: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _max_lead_id: int | None = field(default=None, repr=False)

    def next_lead_id(self) -> int:
        # Created leads follow the highest id; an empty instance starts after 1,000,000.
        return (1_000_000 if self._max_lead_id is None else self._max_lead_id) + 1

    def add_lead(self, lead: dict[str, Any]) -> None:
        """Store a new lead (``lead["id"]`` set) and keep the lookup index current."""
        self.leads[lead["id"]] = lead
        self._max_lead_id = max(self._max_lead_id or lead["id"], lead["id"])
        self.lead_fields.update(lead)
        self.index.add(lead)

    def update_lead(self, lead: dict[str, Any], changes: dict[str, Any]) -> None:
        self.index.update(lead, changes)
        self.lead_fields.update(changes)
        lead.update(changes)

    def find_leads(self, field: str, value: str) -> list[dict[str, Any]]:
        """Leads whose ``field`` equals ``value`` (emails case-insensitively), by id."""
        return [self.leads[i] for i in sorted(self.index.ids(field, value, self.leads))]

    def ancestors(self, program: Program) -> list[Folder]:
        """The program's folder, its parent, ... up to the top (nearest first)."""
        chain: list[Folder] = []
        folder_id = program.folder_id
        while folder_id is not None and folder_id in self.folders:
            folder = self.folders[folder_id]
            chain.append(folder)
            folder_id = folder.parent_id
        return chain

    def available_tokens(self, program: Program) -> dict[str, dict[str, str]]:
        """Every My Token a campaign of ``program`` may use: its own, then inherited ones.

        A token on the program overrides one of the same name on a folder, and a nearer
        folder overrides a farther one (Adobe: tokens "available in a parent program or folder").
        """
        tokens: dict[str, dict[str, str]] = {}
        for owner in reversed(self.ancestors(program)):
            tokens.update(owner.tokens)
        tokens.update(program.tokens)
        return tokens
