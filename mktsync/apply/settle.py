"""Settling ``unknown`` items with Marketo's own evidence (``mktsync ledger settle``).

>>> report = settle_unknown(ledger, client, budget=ReadBudget(max_pages=500))  # doctest: +SKIP
>>> [(c.campaign_id, c.sent, c.not_sent, len(c.unknown)) for c in report.campaigns]
[(1234, 273, 229, 0)]

An item is ``unknown`` when its call left but no answer came back.  The rule is **no
evidence, no verdict**: an item is settled only from what Marketo's activity log shows,
read to its end; everything else stays ``unknown`` with the reason, and what a person can
check in Marketo (``SettledItem.check``).

Trigger items.  Marketo logs a "Request Campaign" activity (type 47) on each lead a
trigger request reached; its ``primaryAttributeValueId`` is the campaign requested
(``campaignId`` names the campaign whose *flow* logged an activity, never the evidence).
Only such activities count, whatever else the log holds.  For a campaign C and a lead L,
the window is from the start of the run of L's earliest unknown call to C, less
``CLOCK_MARGIN``, to the end of the read, plus ``CLOCK_MARGIN``; settle compares n, the
Request Campaign activities of C on L dated in the window, with the calls the ledger says
reached L in that time: k calls Marketo answered (``sent`` records, one per requestId) and
u unknown ones (one per ``unknown`` record of C and L).  An activity dated before the
window is another, earlier request and is not counted.  One dated after it (later than the
read's end, beyond the margin) cannot be evidence of anything: Marketo's clock and ours
disagree, so no date in that log can be placed against the window, and C's items for L
stay ``unknown`` with that reason (never "not sent"), for a person to check.  Otherwise:

* n >= k + u: every unknown call was carried out: **sent**;
* n == k and L's log was read to its end: none was: **not sent** (``failed``, code
  ``settled``), so the next apply sends them;
* anything else stays ``unknown``: the log was not read to its end (its page or time
  budget ran out, or Marketo answered an error), it shows fewer requests than answered
  calls (it lags), or some but not all unknown calls show (which ones cannot be told).

So a lead requested twice in one run (two webinars of one person) is never settled from
the other call's activity.  Calls younger than ``min_age``, and leads with a ``sent``
record not made by an answered call (settled, repaired, imported) in that time, stay
``unknown`` too.

Batch runs (``schedule.json``, lead ``batch``) leave no activity on any lead, and no
documented read tells whether a schedule call was carried out: they always stay
``unknown``, with where to look in Marketo.  Each settled record keeps its evidence in
its message; the whole settle is one run in the ledger's ``runs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from mktsync.errors import EXIT_INCOMPLETE, EXIT_OK, MarketoError
from mktsync.ledger import Ledger, LedgerRecord
from mktsync.marketo.activities import REQUEST_CAMPAIGN, ActivityRead, ReadBudget
from mktsync.plan.batch import CLONE, LEAD, RUN_AT

Verdict = Literal["sent", "not_sent", "unknown"]
Kind = Literal["trigger", "batch"]
# Marketo's clock and ours may differ a little; an activity this much before the run's
# start, or after the read's end, still counts as its evidence.  Beyond it, the clocks
# disagree more than the margin allows: a date in the future decides nothing.
CLOCK_MARGIN = timedelta(minutes=2)


class SettleClient(Protocol):
    def find_leads_by_email(self, emails: Sequence[str]) -> dict[str, int]: ...
    def read_activities(
        self,
        type_ids: Sequence[int],
        lead_ids: Sequence[int],
        since: str | Mapping[int, str],
        *,
        budget: ReadBudget | None = None,
    ) -> ActivityRead: ...


@dataclass(frozen=True, kw_only=True)
class SettledItem:
    """One ``unknown`` item and what became of it; ``check`` says what a person can look
    at in Marketo when only a person can settle it (then ``mark-sent`` or ``forget``)."""

    campaign_id: int
    key: str
    verdict: Verdict
    reason: str
    kind: Kind = "trigger"
    lead_id: int | None = None
    run_at: str | None = None  # a batch run's
    check: str | None = None


@dataclass(frozen=True, kw_only=True)
class CampaignSettlement:
    """What became of one campaign's ``unknown`` items."""

    campaign_id: int
    items: tuple[SettledItem, ...]

    @property
    def sent(self) -> int:
        return sum(i.verdict == "sent" for i in self.items)

    @property
    def not_sent(self) -> int:
        return sum(i.verdict == "not_sent" for i in self.items)

    @property
    def unknown(self) -> tuple[SettledItem, ...]:
        return tuple(i for i in self.items if i.verdict == "unknown")


@dataclass(frozen=True, kw_only=True)
class LogRead:
    """What settle read of the activity log, within which budget; ``stopped`` says why
    some lead's log was not read to its end (None: every log read was read to its end)."""

    budget: ReadBudget
    pages: int = 0
    seconds: float = 0.0
    leads: int = 0  # leads whose log was asked for
    unread: int = 0  # of them, those not read to the end
    stopped: str | None = None


@dataclass(frozen=True, kw_only=True)
class SettleReport:
    run_id: int | None  # None: there was nothing to settle
    campaigns: tuple[CampaignSettlement, ...]
    log: LogRead | None = None  # None: no activity log was read

    @property
    def still_unknown(self) -> int:
        return sum(len(c.unknown) for c in self.campaigns)

    @property
    def exit_code(self) -> int:
        return EXIT_INCOMPLETE if self.still_unknown else EXIT_OK


def settle_unknown(
    ledger: Ledger,
    client: SettleClient,
    *,
    campaign_id: int | None = None,
    min_age: timedelta = timedelta(minutes=10),
    budget: ReadBudget | None = None,
    lock_timeout: float = 30.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SettleReport:
    """Settle the ledger's ``unknown`` items (of one campaign) where Marketo's log tells."""
    with ledger.lock(command="settle", timeout=lock_timeout):
        records = ledger.with_status("unknown", campaign_id)
        if not records:
            return SettleReport(run_id=None, campaigns=())
        run_id = ledger.start_run(command="settle")
        campaigns: list[CampaignSettlement] = []
        log: LogRead | None = None
        try:
            judge = _Judge(ledger, client, records, min_age, now())
            log = judge.read(budget or ReadBudget())
            judge.end = now() + CLOCK_MARGIN  # the window's end: the read is over
            for cid, items in judge.verdicts().items():
                _record(ledger, run_id, cid, items)
                campaigns.append(CampaignSettlement(campaign_id=cid, items=tuple(items)))
        finally:
            report = SettleReport(run_id=run_id, campaigns=tuple(campaigns), log=log)
            counts = {
                "settled_sent": sum(c.sent for c in campaigns),
                "settled_not_sent": sum(c.not_sent for c in campaigns),
                "still_unknown": report.still_unknown,
                "activity_pages": log.pages if log else 0,
            }
            note = (
                f"activity log not read to its end: {log.stopped}" if log and log.stopped else None
            )
            ledger.finish_run(run_id, counts=counts, exit_status=report.exit_code, note=note)
    return report


class _Judge:
    """One settle's evidence: the unknown records, their leads, the log read for them."""

    def __init__(
        self,
        ledger: Ledger,
        client: SettleClient,
        records: Sequence[LedgerRecord],
        min_age: timedelta,
        now: datetime,
    ) -> None:
        self.client, self.min_age, self.now = client, min_age, now
        self.end = now + CLOCK_MARGIN  # moved to the read's end once it is over
        self.done: dict[tuple[int, str], SettledItem] = {}  # judged without the log
        self.started = ledger.run_starts({r.run_id for r in records if r.run_id is not None})
        triggers = [r for r in records if not _is_batch(r)]
        for rec in records:
            if _is_batch(rec):
                self._decide(_batch_item(rec))
        self.lead_of = self._lead_ids(triggers)
        # (campaign, lead) -> its unknown records (all of them count as calls that may show)
        self.unknown: dict[tuple[int, int], list[LedgerRecord]] = {}
        self.windows: dict[tuple[int, int], datetime] = {}
        for rec in triggers:
            lead_id = self.lead_of.get(rec.lead)
            if lead_id is not None:
                self.unknown.setdefault((rec.campaign_id, lead_id), []).append(rec)
        for pair, recs in self.unknown.items():
            starts = [self._start(r) for r in recs]
            if all(s is not None for s in starts):
                self.windows[pair] = min(s for s in starts if s is not None) - CLOCK_MARGIN
            else:
                for rec in recs:
                    self._decide(_item(rec, "unknown", "the ledger has no readable time for "
                                       "a call to this lead", lead_id=pair[1]))  # fmt: skip
        self.calls = self._answered_calls(ledger)
        self.asked: set[tuple[int, int]] = set()
        self.read_result: ActivityRead | None = None

    # -- what the ledger says ---------------------------------------------------------------
    def _lead_ids(self, records: Sequence[LedgerRecord]) -> dict[str, int]:
        """Each record's lead id: stored, written as ``id:N``, or looked up by email now."""
        ids: dict[str, int] = {}
        emails: list[str] = []
        for rec in records:
            if rec.lead_id is not None:
                ids[rec.lead] = rec.lead_id
            elif rec.lead.startswith("id:") and rec.lead[3:].isdigit():
                ids[rec.lead] = int(rec.lead[3:])
            else:
                emails.append(rec.lead)
        if not emails:
            return ids
        failed: str | None = None
        try:
            found = self.client.find_leads_by_email(sorted(set(emails)))
        except MarketoError as exc:
            found, failed = {}, f"looking the lead up by email failed ({exc})"
        for rec in records:
            if rec.lead in ids:
                continue
            lead_id = found.get(rec.lead.lower())
            if lead_id is not None:
                ids[rec.lead] = lead_id
                continue
            why = failed or (
                "Marketo has no lead with this email now, so there is no activity log to "
                "read (a lead deleted since the call may have been reached)"
            )
            check = (f"in Marketo, look for the person {rec.lead}: if no such lead ever "
                     "existed, no trigger reached them")  # fmt: skip
            self._decide(_item(rec, "unknown", why, check=None if failed else check))
        return ids

    def _start(self, rec: LedgerRecord) -> datetime | None:
        return _time(self.started.get(rec.run_id or -1, rec.created_at))

    def _answered_calls(self, ledger: Ledger) -> dict[tuple[int, int], _Calls]:
        """For each (campaign, lead) judged: the sent records changed since its window."""
        calls: dict[tuple[int, int], _Calls] = {pair: _Calls() for pair in self.windows}
        for cid in sorted({c for c, _ in self.windows}):
            # Streamed a page at a time: memory stays flat however big the campaign.
            for rec in ledger.iter_records(cid):
                if rec.status != "sent":
                    continue
                lead_id = rec.lead_id if rec.lead_id is not None else self.lead_of.get(rec.lead)
                pair = (cid, -1 if lead_id is None else lead_id)
                moment = _time(rec.updated_at)
                if pair in calls and (moment is None or moment >= self.windows[pair]):
                    calls[pair].add(rec, moment)
        return calls

    # -- what the log says ------------------------------------------------------------------
    def read(self, budget: ReadBudget) -> LogRead | None:
        """Read the Request Campaign activities of every lead still to judge, each from
        the start of its earliest window, within ``budget``."""
        asked = {pair: recs for pair, recs in self.unknown.items() if self._askable(pair)}
        since: dict[int, datetime] = {}
        for cid, lead_id in asked:
            start = self.windows[(cid, lead_id)]
            since[lead_id] = min(since.get(lead_id, start), start)
        self.asked = set(asked)
        if not since:
            return None
        read = self.client.read_activities(
            [REQUEST_CAMPAIGN], sorted(since), {k: _iso(v) for k, v in since.items()}, budget=budget
        )
        self.read_result = read
        return LogRead(budget=budget, pages=read.pages, seconds=read.seconds, leads=len(since),
                       unread=len(read.unread), stopped=read.stopped)  # fmt: skip

    def _askable(self, pair: tuple[int, int]) -> bool:
        """Is the log worth reading for this (campaign, lead)?  Else its items are decided."""
        if pair not in self.windows:
            return False
        recs, calls = self.unknown[pair], self.calls[pair]
        judged = [r for r in recs if (r.campaign_id, r.key) not in self.done]
        if not judged:
            return False
        if calls.unsure:
            why = (f"a 'sent' record of lead {pair[1]} in campaign {pair[0]} changed since "
                   "this call without a call Marketo answered (settled, repaired or imported),"
                   " so its activities cannot be told apart")  # fmt: skip
            return self._hold(judged, pair, why, by_hand=True)
        seen = [_time(r.updated_at) for r in recs]
        if None in seen:
            return self._hold(judged, pair, "the ledger has no readable time for the call")
        youngest = max(m for m in [calls.latest, *seen] if m is not None)
        if self.now - youngest < self.min_age:
            minutes = max(0, int((self.now - youngest).total_seconds() // 60))
            why = (
                f"a call to lead {pair[1]} was {minutes} min ago; Marketo's activity log "
                f"may not show it yet (--min-age {int(self.min_age.total_seconds() // 60)})"
            )
            return self._hold(judged, pair, why)
        return True

    def _hold(
        self, recs: Iterable[LedgerRecord], pair: tuple[int, int], why: str, by_hand: bool = False
    ) -> bool:
        check = _trigger_check(pair, self.windows.get(pair)) if by_hand else None
        for rec in recs:
            self._decide(_item(rec, "unknown", why, lead_id=pair[1], check=check))
        return False

    # -- verdicts -----------------------------------------------------------------------------
    def verdicts(self) -> dict[int, list[SettledItem]]:
        for pair in sorted(self.asked):
            for item in self._judge(pair):
                self._decide(item)
        out: dict[int, list[SettledItem]] = {}
        for (cid, _), item in sorted(self.done.items()):
            out.setdefault(cid, []).append(item)
        return out

    def _judge(self, pair: tuple[int, int]) -> list[SettledItem]:
        cid, lead_id = pair
        start, calls = self.windows[pair], self.calls[pair]
        read = self.read_result
        assert read is not None
        shown: list[datetime] = []
        future: list[datetime] = []  # dated after the window: the clocks disagree
        unreadable = 0
        for activity in read.activities:
            if activity.lead_id != lead_id or activity.type_id != REQUEST_CAMPAIGN:
                continue  # the reader keeps only type 47; checked again, it is the evidence
            moment = _time(activity.date)
            if moment is None:
                unreadable += 1  # might be this campaign's request, in this window
            elif moment < start or activity.primary_id not in (cid, None):
                continue  # an earlier request, or another campaign's
            elif moment > self.end:
                future.append(moment)
            elif activity.primary_id is None:
                unreadable += 1
            else:
                shown.append(moment)
        recs = [r for r in self.unknown[pair] if (r.campaign_id, r.key) not in self.done]
        n, k, u = len(shown), calls.answered, len(self.unknown[pair])
        window = f"from {_iso(start)} to {_iso(self.end)}"
        if future:
            margin = int(CLOCK_MARGIN.total_seconds() // 60)
            why = (
                f"Marketo's activity log shows 'Request Campaign' for lead {lead_id} in "
                f"campaign {cid} dated {_iso(max(future))}, later than the end of the read "
                f"plus the {margin} min clock margin ({_iso(self.end)}): Marketo's clock and "
                "this machine's disagree, so its dates cannot be placed in the window "
                f"{window} and settle them neither way"
            )
            check = _trigger_check(pair, start)
            return [_item(r, "unknown", why, lead_id=lead_id, check=check) for r in recs]
        if n >= k + u:
            seen = ", ".join(_iso(m) for m in sorted(shown)[-u:])
            why = (f"settled: Marketo's activity log shows 'Request Campaign' for lead {lead_id}"
                   f" in campaign {cid} at {seen}")  # fmt: skip
            if k:
                why += f" ({n} requests {window}; {k} of them by calls Marketo answered)"
            return [_item(r, "sent", why, lead_id=lead_id) for r in recs]
        if lead_id in read.unread:
            why = (f"Marketo's activity log for lead {lead_id} was not read to its end: "
                   f"{read.stopped}")  # fmt: skip
            return [_item(r, "unknown", why, lead_id=lead_id) for r in recs]
        if unreadable:
            why = (f"lead {lead_id}'s log holds {unreadable} 'Request Campaign' activities "
                   "without a readable campaign id or date")  # fmt: skip
            check = _trigger_check(pair, start)
            return [_item(r, "unknown", why, lead_id=lead_id, check=check) for r in recs]
        if n == k:
            beyond = f" beyond the {k} of calls Marketo answered" if k else ""
            why = (f"settled: no 'Request Campaign' activity for lead {lead_id} in campaign "
                   f"{cid} {window}{beyond}, the log read to its end")  # fmt: skip
            return [_item(r, "not_sent", why, lead_id=lead_id) for r in recs]
        if n < k:
            why = (
                f"Marketo's activity log shows {n} 'Request Campaign' for lead {lead_id} "
                f"{window} but Marketo answered {k} calls to it: the log is not complete yet"
            )
            return [_item(r, "unknown", why, lead_id=lead_id) for r in recs]
        why = (
            f"{n - k} 'Request Campaign' for lead {lead_id} {window} beyond calls Marketo "
            f"answered, for {u} unknown calls: which were carried out cannot be told"
        )
        check = _trigger_check(pair, start)
        return [_item(r, "unknown", why, lead_id=lead_id, check=check) for r in recs]

    def _decide(self, item: SettledItem) -> None:
        self.done.setdefault((item.campaign_id, item.key), item)


class _Calls:
    """The ``sent`` records of one (campaign, lead) changed inside its window."""

    def __init__(self) -> None:
        self.request_ids: set[str] = set()
        self.unsure = 0  # sent without an answered call: settled, repaired, imported
        self.latest: datetime | None = None

    @property
    def answered(self) -> int:
        return len(self.request_ids)

    def add(self, rec: LedgerRecord, moment: datetime | None) -> None:
        if rec.request_id and moment is not None:
            self.request_ids.add(rec.request_id)  # one call, one activity per lead
        else:
            self.unsure += 1
        if moment is not None:
            self.latest = max(self.latest or moment, moment)


def _is_batch(rec: LedgerRecord) -> bool:
    return rec.lead == LEAD and RUN_AT in dict(rec.tokens)


def _batch_item(rec: LedgerRecord) -> SettledItem:
    tokens = dict(rec.tokens)
    run_at, clone = tokens.get(RUN_AT), tokens.get(CLONE)
    check = (f"in Marketo, open smart campaign {rec.campaign_id} (Marketing Activities): its "
             f"Schedule tab shows whether a run at {run_at} is scheduled; once it ran, its "
             "Results tab shows the run")  # fmt: skip
    if clone:
        check = (
            f"in Marketo, look for a program named {clone!r} under the program of smart "
            f"campaign {rec.campaign_id}: the schedule call clones it and schedules its "
            f"copy of the campaign; that copy's Schedule tab shows a run at {run_at}"
        )
    why = ("a batch run leaves no activity on any lead, and no Marketo API read tells whether "
           "the schedule call was carried out")  # fmt: skip
    return _item(rec, "unknown", why, kind="batch", run_at=run_at, check=check)


def _trigger_check(pair: tuple[int, int], start: datetime | None) -> str:
    since = f" since {_iso(start)}" if start is not None else ""
    return (
        f"in Marketo, open lead {pair[1]} and its Activity Log: look for 'Request "
        f"Campaign' of campaign {pair[0]}{since}"
    )


def _record(ledger: Ledger, run_id: int, campaign_id: int, items: Sequence[SettledItem]) -> None:
    by_reason: dict[tuple[bool, str], list[str]] = {}
    for item in items:
        if item.verdict != "unknown":
            by_reason.setdefault((item.verdict == "sent", item.reason), []).append(item.key)
    for (sent, reason), keys in by_reason.items():
        ledger.mark_settled(run_id, campaign_id, keys, sent=sent, reason=reason)


def _item(
    rec: LedgerRecord,
    verdict: Verdict,
    reason: str,
    *,
    kind: Kind = "trigger",
    lead_id: int | None = None,
    run_at: str | None = None,
    check: str | None = None,
) -> SettledItem:
    return SettledItem(campaign_id=rec.campaign_id, key=rec.key, verdict=verdict, reason=reason,
                       kind=kind, lead_id=lead_id, run_at=run_at, check=check)  # fmt: skip


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
