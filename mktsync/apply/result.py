"""The records of how an apply run ends: per campaign what became of each item, a stop
asked for by a signal, and the leads Marketo does not know; and ``PendingMarks``, the
ledger's side of one call that changes Marketo.

Kept apart from ``apply`` (the executor) so that reporters and the command line can use
them without the executor's machinery.  ``ApplyReport.verdict`` decides how the run ended
(``apply.verdict``): its exit code, DESIGN.md's table, and what its last line says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mktsync.apply.verdict import Sent, Shortfall, Verdict, decide
from mktsync.items import Item
from mktsync.ledger import Ledger
from mktsync.marketo import NotSent, Stop
from mktsync.plan import Plan
from mktsync.plan.quota import QuotaRoom


class StopRequest(Stop):
    """Asks a run to stop in order: set from a signal handler, read by the runner, and
    waited on by the Marketo client, whose waits it ends at once (``marketo.Stop``).

    >>> stop = StopRequest()
    >>> stop.request("SIGTERM", exit_code=143)
    >>> stop.is_set(), stop.reason, stop.exit_code
    (True, 'SIGTERM', 143)
    """

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None
        self.exit_code: int = 130

    def request(self, reason: str, *, exit_code: int) -> None:
        # Only plain assignments and Stop.set (no lock): safe in a signal handler.
        if not self.is_set():
            self.reason, self.exit_code = reason, exit_code
        self.set()


class PendingMarks:
    """The ledger's side of one call that changes Marketo (a ``marketo.Sending``).

    >>> marks = PendingMarks(ledger, run_id, 1234, items, lead_ids=ids)  # doctest: +SKIP
    >>> client.trigger_campaign(1234, [318592], tokens, sending=marks)     # doctest: +SKIP

    The items become ``pending`` only when the call *leaves* -- it holds its limiter slot
    and goes out next -- and go back to what they were (no record, or the record before)
    when Marketo refused it unsent, before any backoff.  So a call waiting for the rate
    window, a backoff or a token has nothing pending: a stop, a second signal or a kill
    then leaves its items as they were, not ``unknown`` (issue 21).  ``stopping`` (the
    runner's) is asked once more as the call leaves: a stop seen there keeps it home.
    """

    def __init__(
        self,
        ledger: Ledger,
        run_id: int,
        campaign_id: int,
        items: Sequence[Item],
        *,
        lead_ids: Mapping[str, int] | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        self._ledger, self._run_id, self._campaign_id = ledger, run_id, campaign_id
        self._items, self._lead_ids, self._stopping = items, lead_ids, stopping
        keys = [i.key for i in items]
        found = ledger.lookup(campaign_id, keys)  # what to put back if Marketo refuses it
        self._before = {k: found.get(k) for k in keys}
        self.marked = False

    def leaving(self) -> None:
        if self._stopping is not None and self._stopping():
            raise NotSent("stopped before the call was sent")
        self.mark()

    def mark(self) -> None:
        """Mark the items ``pending`` (if they are not already)."""
        if not self.marked:
            self._ledger.mark_pending(self._run_id, self._items, lead_ids=self._lead_ids)
            self.marked = True

    def refused(self) -> None:
        if self.marked:
            self._ledger.unmark_pending(self._run_id, self._campaign_id, self._before)
            self.marked = False


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
    # Deferred to the next run: another row of the run writes the lead's fields first
    # (issue 22; by the plan, or found by apply); not sent, not marked.  A few named.
    deferred: int = 0
    deferrals: list[str] = field(default_factory=list)

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
    # Today's quota as the run read it before its first call (issue 24), and whether the
    # room it leaves (``quota_reserve``) stopped the run: calls past it were kept home.
    quota: QuotaRoom | None = None
    reserve_stopped: bool = False
    # Invalid rows, each once however many campaigns read it (source and row; the plan's
    # ``Summary.invalid``); None: the campaigns' own counts, summed.
    invalid_rows: int | None = None

    @property
    def verdict(self) -> Verdict:
        """How the run ended, decided once (``apply.verdict``): its exit code, whether all
        is well, and the parts of its last line."""
        c, s = self.campaigns, self.schedules
        summary = self.plan.summary
        counts = {
            Shortfall.FAILED: sum(x.leads_failed for x in c),
            Shortfall.UNKNOWN: sum(x.leads_unknown for x in c),
            Shortfall.MISSING: sum(x.leads_missing for x in c if not x.missing_skip),
            Shortfall.MISSING_SKIPPED: sum(x.leads_missing for x in c if x.missing_skip),
            Shortfall.INVALID: (
                sum(x.invalid for x in c) if self.invalid_rows is None else self.invalid_rows
            ),
            Shortfall.NOT_ATTEMPTED: sum(x.leads_not_attempted for x in c),
            Shortfall.CHANGED: sum(x.changed for x in c),
            Shortfall.DEFERRED: sum(x.deferred for x in c),
            Shortfall.HELD_UNKNOWN: self.unsettled,
            Shortfall.RUNS_FAILED: sum(len(x.failed) for x in s),
            Shortfall.RUNS_UNKNOWN: sum(len(x.unknown) for x in s),
            Shortfall.RUNS_NOT_ATTEMPTED: sum(x.not_attempted for x in s),
            Shortfall.RUNS_CHANGED: sum(x.changed for x in s),
            Shortfall.RUNS_ORPHANED: sum(len(x.orphaned) for x in s),
            Shortfall.HELD: summary.held,
            Shortfall.RUNS_HELD: summary.held_runs,
        }
        return decide(
            sent=Sent(
                leads=sum(x.leads_triggered for x in c),
                calls=sum(x.calls_sent for x in c),
                runs=sum(len(x.scheduled) for x in s),
            ),
            counts=counts,
            refused=sum(1 for x in c if x.skipped) + sum(1 for x in s if x.skipped),
            quota_stopped=self.quota_stopped,
            reserve_stopped=self.reserve_stopped,
            stopped_by=self.stopped_by,
            stop_code=self.stop_code,
        )

    @property
    def exit_code(self) -> int:
        """DESIGN.md's table (docs/exit-codes.md), as the verdict decides it."""
        return self.verdict.exit_code

    @property
    def unsettled(self) -> int:
        """Items and batch runs an *earlier* run left unknown, not resent by this one: a
        batch run's too, since a second schedule call would schedule a second run."""
        if self.plan.retry_unknown:
            return 0
        runs = sum(sp.counts.get("unknown", 0) for sp in self.plan.schedules)
        return self.plan.summary.unknown + runs

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
            "deferred",
        )
        totals = {k: sum(getattr(c, k) for c in self.campaigns) for k in keys}
        if self.invalid_rows is not None:  # rows, each once (issue 22), as the last line says
            totals["invalid"] = self.invalid_rows
        return totals
