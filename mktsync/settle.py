"""Settling ``unknown`` items with Marketo's own evidence (``mktsync ledger settle``).

>>> report = settle_unknown(ledger, client)                           # doctest: +SKIP
>>> [(c.campaign_id, c.sent, c.not_sent, len(c.unknown)) for c in report.campaigns]
[(1234, 273, 229, 0)]

An item is ``unknown`` when its trigger call left but no answer came back.  Marketo logs
a "Request Campaign" activity (type 47) on each lead a trigger request reached, so:

* the lead's activity log shows "Request Campaign" for the campaign since the run that
  made the call started -> the call was carried out: settled as **sent**;
* the log was read from before that run to now and shows none -> it was not carried
  out: settled as **not sent** (``failed``, code ``settled``), so the next apply sends it;
* otherwise the item stays ``unknown``, with the reason: the call is too recent for the
  log to be trusted yet (``min_age``), the lead has no id, or the log could not be read
  (e.g. the API user lacks the "Read-Only Activity" permission).

A lead a lost ``createOrUpdate`` may have made is looked up by email first: if Marketo
has no such lead, no trigger can have reached it.  Each settled record keeps its
evidence in its message; the whole settle is one run in the ledger's ``runs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from mktsync.errors import EXIT_INCOMPLETE, EXIT_OK, MarketoError
from mktsync.ledger import Ledger, LedgerRecord
from mktsync.marketo.activities import REQUEST_CAMPAIGN
from mktsync.marketo.records import Activity

Verdict = Literal["sent", "not_sent", "unknown"]
# Marketo's clock and ours may differ a little; an activity this much before the run's
# start still counts as its evidence.
CLOCK_MARGIN = timedelta(minutes=2)


class SettleClient(Protocol):
    def find_leads_by_email(self, emails: Sequence[str]) -> dict[str, int]: ...
    def find_activities(
        self, type_ids: Sequence[int], lead_ids: Sequence[int], since: str
    ) -> list[Activity]: ...


@dataclass(frozen=True, kw_only=True)
class SettledItem:
    campaign_id: int
    key: str
    verdict: Verdict
    reason: str


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
class SettleReport:
    run_id: int | None  # None: there was nothing to settle
    campaigns: tuple[CampaignSettlement, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_INCOMPLETE if any(c.unknown for c in self.campaigns) else EXIT_OK


def settle_unknown(
    ledger: Ledger,
    client: SettleClient,
    *,
    campaign_id: int | None = None,
    min_age: timedelta = timedelta(minutes=10),
    lock_timeout: float = 30.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SettleReport:
    """Settle the ledger's ``unknown`` items (of one campaign) where Marketo can tell."""
    with ledger.lock(command="settle", timeout=lock_timeout):
        records = ledger.with_status("unknown", campaign_id)
        if not records:
            return SettleReport(run_id=None, campaigns=())
        run_id = ledger.start_run(command="settle")
        campaigns: list[CampaignSettlement] = []
        try:
            started = ledger.run_starts({r.run_id for r in records if r.run_id is not None})
            lead_ids = _lead_ids(records, client)
            by_campaign: dict[int, list[LedgerRecord]] = {}
            for rec in records:
                by_campaign.setdefault(rec.campaign_id, []).append(rec)
            for cid, recs in by_campaign.items():
                items = _settle_campaign(cid, recs, lead_ids, started, client, min_age, now())
                _record(ledger, run_id, cid, items)
                campaigns.append(CampaignSettlement(campaign_id=cid, items=tuple(items)))
        finally:
            counts = {
                "settled_sent": sum(c.sent for c in campaigns),
                "settled_not_sent": sum(c.not_sent for c in campaigns),
                "still_unknown": sum(len(c.unknown) for c in campaigns),
            }
            status = EXIT_INCOMPLETE if counts["still_unknown"] else EXIT_OK
            ledger.finish_run(run_id, counts=counts, exit_status=status)
    return SettleReport(run_id=run_id, campaigns=tuple(campaigns))


def _lead_ids(records: Sequence[LedgerRecord], client: SettleClient) -> dict[str, int | None]:
    """Each record's lead id: stored, written as ``id:N``, or looked up by email now."""
    ids: dict[str, int | None] = {}
    emails: list[str] = []
    for rec in records:
        if rec.lead_id is not None:
            ids[rec.lead] = rec.lead_id
        elif rec.lead.startswith("id:") and rec.lead[3:].isdigit():
            ids[rec.lead] = int(rec.lead[3:])
        else:
            emails.append(rec.lead)
    if emails:
        found = client.find_leads_by_email(emails)
        for email in emails:
            ids[email] = found.get(email.lower())
    return ids


def _settle_campaign(
    campaign_id: int,
    records: Sequence[LedgerRecord],
    lead_ids: dict[str, int | None],
    started: dict[int, str],
    client: SettleClient,
    min_age: timedelta,
    now: datetime,
) -> list[SettledItem]:
    items: list[SettledItem] = []
    ask: list[tuple[LedgerRecord, int, datetime]] = []  # record, lead id, evidence from
    for rec in records:
        lead_id = lead_ids.get(rec.lead)
        call_seen = _time(rec.updated_at)
        run_start = _time(started.get(rec.run_id or -1, rec.created_at))
        if lead_id is None:
            items.append(_item(rec, "not_sent", "settled: Marketo has no lead with this "
                               "email, so no trigger can have reached it"))  # fmt: skip
        elif call_seen is None or run_start is None:
            items.append(_item(rec, "unknown", "the ledger has no readable time for the call"))
        elif now - call_seen < min_age:
            minutes = max(0, int((now - call_seen).total_seconds() // 60))
            items.append(_item(rec, "unknown", f"the call was {minutes} min ago; Marketo's "
                               f"activity log may not show it yet (--min-age "
                               f"{int(min_age.total_seconds() // 60)})"))  # fmt: skip
        else:
            ask.append((rec, lead_id, run_start - CLOCK_MARGIN))
    if not ask:
        return items
    since = min(start for _, _, start in ask)
    try:
        log = client.find_activities(
            [REQUEST_CAMPAIGN], sorted({lead for _, lead, _ in ask}), _iso(since)
        )
    except MarketoError as exc:
        reason = f"no activity evidence available: reading Marketo's activity log failed ({exc})"
        return items + [_item(rec, "unknown", reason) for rec, _, _ in ask]
    seen: dict[int, list[datetime]] = {}
    for activity in log:
        moment = _time(activity.date)
        if activity.campaign_id == campaign_id and moment is not None:
            seen.setdefault(activity.lead_id, []).append(moment)
    until = _iso(now)
    for rec, lead_id, start in ask:
        hits = [m for m in seen.get(lead_id, []) if m >= start]
        if hits:
            reason = (f"settled: Marketo's activity log shows 'Request Campaign' for lead "
                      f"{lead_id} in campaign {campaign_id} at {_iso(min(hits))}")  # fmt: skip
            items.append(_item(rec, "sent", reason))
        else:
            reason = (f"settled: no 'Request Campaign' activity for lead {lead_id} in campaign "
                      f"{campaign_id} from {_iso(start)} to {until}")  # fmt: skip
            items.append(_item(rec, "not_sent", reason))
    return items


def _record(ledger: Ledger, run_id: int, campaign_id: int, items: Sequence[SettledItem]) -> None:
    by_reason: dict[tuple[bool, str], list[str]] = {}
    for item in items:
        if item.verdict != "unknown":
            by_reason.setdefault((item.verdict == "sent", item.reason), []).append(item.key)
    for (sent, reason), keys in by_reason.items():
        ledger.mark_settled(run_id, campaign_id, keys, sent=sent, reason=reason)


def _item(rec: LedgerRecord, verdict: Verdict, reason: str) -> SettledItem:
    return SettledItem(campaign_id=rec.campaign_id, key=rec.key, verdict=verdict, reason=reason)


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
