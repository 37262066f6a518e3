"""The records of how an apply run ends: per campaign what became of each item, a stop
asked for by a signal, and the leads Marketo does not know.

Kept apart from ``apply`` (the executor) so that reporters and the command line can use
them without the executor's machinery.  ``ApplyReport.exit_code`` is DESIGN.md's table.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mktsync.errors import EXIT_ERROR, EXIT_HELD, EXIT_INCOMPLETE, EXIT_OK, EXIT_QUOTA
from mktsync.plan import Plan


class StopRequest:
    """Asks a run to stop in order: set from a signal handler, read by the runner.

    >>> stop = StopRequest()
    >>> stop.request("SIGTERM", exit_code=143)
    >>> stop.is_set(), stop.reason, stop.exit_code
    (True, 'SIGTERM', 143)
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None
        self.exit_code: int = 130

    def request(self, reason: str, *, exit_code: int) -> None:
        # Only plain assignments and Event.set: safe to call from a signal handler.
        if not self._event.is_set():
            self.reason, self.exit_code = reason, exit_code
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True, kw_only=True)
class MissingLead:
    """A lead Marketo does not know: which item, where it came from, and why."""

    key: str
    lead: str
    source: str
    row: int
    reason: str


@dataclass(kw_only=True)
class CampaignReport:
    """What became of one campaign entry's part of the plan."""

    name: str
    campaign_id: int
    calls_sent: int = 0
    calls_failed: int = 0
    calls_unknown: int = 0
    calls_not_attempted: int = 0
    leads_triggered: int = 0
    leads_failed: int = 0
    leads_unknown: int = 0
    leads_not_attempted: int = 0
    invalid: int = 0  # rows that could not be rendered
    missing: list[MissingLead] = field(default_factory=list)  # leads Marketo does not know
    missing_skip: bool = False  # the campaign says 'missing_leads: skip'
    changed: int = 0  # changed since sent, not resent (retrigger: never)
    skipped: str | None = None  # preflight's reasons
    failures: list[str] = field(default_factory=list)

    @property
    def leads_missing(self) -> int:
        return len(self.missing)


@dataclass(kw_only=True)
class ScheduleReport:
    """What became of one ``schedules:`` entry: runs scheduled, failed, unknown, refused."""

    name: str
    campaign_id: int
    scheduled: list[str] = field(default_factory=list)  # "key at run_at"
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    not_attempted: int = 0
    changed: int = 0  # changed since scheduled, not sent again (retrigger: never)
    skipped: str | None = None  # preflight's reasons
    # Runs scheduled before for rows that are gone, still ahead: "key at run_at".  Apply
    # cannot cancel them (Marketo's REST API cannot); the run exits 3 until they are
    # cancelled in Marketo and forgotten in the ledger, or their time has passed.
    orphaned: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ApplyReport:
    run_id: int | None
    plan: Plan
    campaigns: list[CampaignReport]
    quota_stopped: bool = False
    interrupted: bool = False
    stopped_by: str | None = None  # 'SIGTERM' ...: a StopRequest ended the run early
    stop_code: int = 0  # its exit code (130, 143, 129)
    created_leads: int = 0
    stats: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    schedules: list[ScheduleReport] = field(default_factory=list)  # batch campaigns

    @property
    def exit_code(self) -> int:
        """DESIGN.md's table: a stop by signal, then the quota, preflight, then incomplete,
        then items held for review (``apply --reviewed``, docs/exit-codes.md)."""
        if self.stopped_by:
            return self.stop_code
        if self.quota_stopped:
            return EXIT_QUOTA
        if any(c.skipped for c in self.campaigns) or any(s.skipped for s in self.schedules):
            return EXIT_ERROR
        if any(c.leads_failed or c.leads_unknown for c in self.campaigns):
            return EXIT_INCOMPLETE
        if any(s.failed or s.unknown or s.not_attempted for s in self.schedules):
            return EXIT_INCOMPLETE
        if any(s.orphaned for s in self.schedules):
            return EXIT_INCOMPLETE  # an email nobody wants still goes out: never green
        if any(c.missing and not c.missing_skip for c in self.campaigns):
            return EXIT_INCOMPLETE
        if self.plan.summary.unknown and not self.plan.retry_unknown:
            return EXIT_INCOMPLETE  # an earlier run's unknowns are still not settled
        if self.plan.summary.held or self.plan.summary.held_runs:
            return EXIT_HELD
        return EXIT_OK

    def counts(self) -> dict[str, int]:
        keys = (
            "calls_sent",
            "calls_failed",
            "calls_unknown",
            "calls_not_attempted",
            "leads_triggered",
            "leads_failed",
            "leads_unknown",
            "leads_not_attempted",
            "leads_missing",
            "invalid",
            "changed",
        )
        return {k: sum(getattr(c, k) for c in self.campaigns) for k in keys}
