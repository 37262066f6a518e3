"""A plan's records: the one ``Action`` vocabulary, the plan, its campaigns and calls,
its batch runs (``SchedulePlan``, made by ``plan.batch``), and calls read back from its
spill.

``plan.planner`` builds these (the ``mktsync.plan`` face names them); ``plan.file``, ``report`` and ``apply`` read them.

``Action`` is every class a plan puts an item or a batch run in, with the mark reports
show for it; its value is the word the plan's JSON writes.  ``CLASSES`` and
``BATCH_CLASSES`` are the classes a campaign and a batch campaign count, in the order
every report lists them.

A plan made by ``make_plan`` does not hold its calls: each item to send is written to a
``Spill`` as the one line of JSON ``plan --format json`` prints for it, and
``SpilledCalls`` reads the calls back in plan order, a page at a time.  ``plan.file``
copies the lines as they are (``SpilledCalls.iter_lines``); ``apply`` and the reports
iterate ``Call`` objects decoded from them, as from any sequence of calls.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from json.encoder import encode_basestring
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mktsync.config.model import Campaign, Limits
from mktsync.config.protected import allowance, protected_field
from mktsync.items import InvalidItem, Item, ScheduleItem, Tokens
from mktsync.marketo.usage import DailyUsage
from mktsync.plan.lists import StreamedSequence, item_from, item_record
from mktsync.plan.spill import OFFSET, Spill
from mktsync.render.values import WhenMiss

if TYPE_CHECKING:
    from mktsync.ledger.history import NewLedger

MAX_LEADS_PER_CALL = 100
MAX_FIELD_RECORDS = 300  # leads.json sync: records a call (issue 15)
DESCRIBE_CALLS = 1  # describe2.json once per run when any campaign writes fields
SAMPLES_PER_FIELD = 3  # old -> new values a plan shows per lead field (issue 25)
PER_LEAD_SAMPLE = 10_000  # items the per-lead-token advice looks at (their values are held)
PREFLIGHT_CALLS_PER_CAMPAIGN = 2  # smart campaign (asset API) + its program's My Tokens
USAGE_CALLS = 1  # apply's read of today's usage (stats/usage.json), before any other call
SPILL_COLUMNS = ("line", "email", "lead_id", "entry")  # what the spill keeps of an item
LINE, EMAIL, LEAD_ID, ENTRY = range(len(SPILL_COLUMNS))
_LINE, _ENTRY = OFFSET + LINE, OFFSET + ENTRY  # where they are in a row the spill returns


class Action(StrEnum):
    """What a plan does with an item or a batch run (DESIGN.md's classes), and its mark.

    One vocabulary for every plan, as Terraform's ``plans.Action``: reports write an
    action as ``mark word`` (``+ trigger``), colour it by action, and the plan's JSON
    writes the word (the value).  Items and batch runs share every class but the ones
    that send: an item is triggered (``+ trigger``, ``~ retrigger``), a run is scheduled
    (``+ schedule``, ``~ reschedule``), and only a run is ``⊘ orphaned``.

    >>> Action.RETRIGGER.mark, Action.RETRIGGER == "retrigger"
    ('~', True)
    """

    mark: str

    TRIGGER = "trigger", "+"  # new key, or an earlier attempt failed
    RETRIGGER = "retrigger", "~"  # sent before with other tokens, retrigger: on_change
    UNCHANGED = "unchanged", "="
    FILTERED = "filtered", "-"  # left out by `when`
    INVALID = "invalid", "!"  # a row that cannot be rendered
    UNKNOWN = "unknown", "?"  # an earlier call's outcome is unknown
    CHANGED = "changed", "≠"  # sent before, differs now, retrigger: never: not resent
    DEFERRED = "deferred", "»"  # another row of its lead goes first; the next run sends it
    SCHEDULE = "schedule", "+"
    RESCHEDULE = "reschedule", "~"
    ORPHANED = "orphaned", "⊘"  # still scheduled in Marketo for a row that is gone

    def __new__(cls, word: str, mark: str) -> Action:
        action = str.__new__(cls, word)
        action._value_ = word
        action.mark = mark
        return action


# A campaign's classes and a batch campaign's, in the order every report lists them.
CLASSES = (
    Action.TRIGGER, Action.RETRIGGER, Action.UNCHANGED, Action.FILTERED, Action.INVALID,
    Action.UNKNOWN, Action.CHANGED, Action.DEFERRED,
)  # fmt: skip
BATCH_CLASSES = (
    Action.SCHEDULE, Action.RESCHEDULE, Action.UNCHANGED, Action.FILTERED, Action.INVALID,
    Action.UNKNOWN, Action.CHANGED, Action.ORPHANED,
)  # fmt: skip
_BY_WORD = {action.value: action for action in Action}


def action_of(word: str) -> Action:
    """The action a plan file writes as ``word`` (``KeyError`` for any other word)."""
    return _BY_WORD[word]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedItem:
    """An item the plan sends, and why: new, changed (with the tokens sent before), or retried."""

    item: Item
    action: Action
    old_tokens: Tokens | None = None
    retry_of: str | None = None  # the earlier status ('failed', 'unknown') when this is a retry


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangedItem:
    """An item sent before whose tokens differ now, not resent because ``retrigger: never``."""

    item: Item
    old_tokens: Tokens


def encode_changed(changed: ChangedItem) -> str:
    """A ``ChangedItem`` as a spill record (``plan.lists``)."""
    return json.dumps([item_record(changed.item), changed.old_tokens])


def decode_changed(data: str) -> ChangedItem:
    item, old = json.loads(data)
    return ChangedItem(item=item_from(item), old_tokens=tuple((n, v) for n, v in old))


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldItem:
    """An item due now that ``apply --reviewed`` does not send: the reviewed plan did not
    contain it (``reason`` ``"new"``), or contained its key with other tokens, lead or
    fields (``"differs"``).  Not marked in the ledger: it goes out after the next review."""

    item: Item
    reason: str


def encode_held(held: HeldItem) -> str:
    """A ``HeldItem`` as a spill record (``plan.lists``)."""
    return json.dumps([item_record(held.item), held.reason])


def decode_held(data: str) -> HeldItem:
    item, reason = json.loads(data)
    return HeldItem(item=item_from(item), reason=str(reason))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferredItem:
    """An item due now that waits for the next run (issue 22): an earlier row of this run
    writes other values to the same lead's fields, and a lead field holds one value, so
    Marketo would send both emails with the last value written.  The first row goes now;
    this one is not sent and not marked in the ledger, so the next run plans it again.

    ``first`` is the row that goes now (its campaign entry, source, row and key);
    ``differs`` every token and lead field the two rows give other values,
    ``(name, first's value, this one's)`` (None where a row has no such name)."""

    item: Item
    first_campaign: str
    first_source: str
    first_row: int
    first_key: str
    differs: tuple[tuple[str, str | None, str | None], ...]


def encode_deferred(deferred: DeferredItem) -> str:
    """A ``DeferredItem`` as a spill record (``plan.lists``)."""
    d = deferred
    first = [d.first_campaign, d.first_source, d.first_row, d.first_key]
    return json.dumps([item_record(d.item), first, d.differs])


def decode_deferred(data: str) -> DeferredItem:
    item, (campaign, source, row, key), differs = json.loads(data)
    return DeferredItem(
        item=item_from(item),
        first_campaign=str(campaign),
        first_source=str(source),
        first_row=int(row),
        first_key=str(key),
        differs=tuple((str(n), a, b) for n, a, b in differs),
    )


@dataclass(frozen=True, kw_only=True)
class Call:
    """One trigger call: one campaign, one token set, at most 100 leads."""

    campaign_id: int
    tokens: Tokens
    items: tuple[PlannedItem, ...]


@dataclass(frozen=True, kw_only=True)
class FieldWrite:
    """A lead field apply writes for a campaign entry, shown in every plan (issue 25).

    ``leads``: the entry's leads to send, each written before its trigger (``fields:``);
    with ``created_only`` (``lead.fields`` under ``create_missing``) at most this many, as
    only leads Marketo lacks are created with it.  ``protected`` is the field's category
    when it is a protected lead field (``config.protected``), allowed with ``reason``.
    """

    name: str
    leads: int
    created_only: bool = False
    protected: str | None = None
    reason: str | None = None
    grant_consent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSample:
    """One lead's value of a field written: ``old`` is what the ledger recorded as last
    written for the item's key (None when nothing was), ``new`` what apply writes."""

    lead: str
    old: str | None
    new: str


def field_writes(campaign: Campaign, sending: int, uncached: int) -> tuple[FieldWrite, ...]:
    """Every lead field ``campaign`` writes, with the leads it goes to: ``sending`` leads to
    send, of which ``uncached`` emails are not known to exist (only those may be created)."""
    declared = [(name, False) for name, _ in campaign.fields]
    if campaign.create_missing:
        declared += [(name, True) for name, _ in campaign.lead.fields]
    out = []
    for name, created_only in declared:
        found, allowed = protected_field(name), allowance(campaign, name)
        out.append(
            FieldWrite(
                name=name,
                leads=min(sending, uncached) if created_only else sending,
                created_only=created_only,
                protected=found.category if found else None,
                reason=allowed.reason if allowed else None,
                grant_consent=bool(allowed and allowed.grant_consent),
            )
        )
    return tuple(out)


def field_samples(
    cp: CampaignPlan,
    per_field: int,
    entries: Sequence[CampaignPlan] = (),
    *,
    look: int = 50,
    scan: int = 5_000,
) -> dict[str, list[FieldSample]]:
    """Up to ``per_field`` distinct (old, new) values of each field the entry writes, from
    its first ``look`` leads to send.  Calls are shared by campaign id, so an entry's
    leads may be listed under another of ``entries`` (the plan's): its own calls are read
    first, then theirs, at most ``scan`` leads in all, from the start of the spill."""
    out: dict[str, list[FieldSample]] = {w.name: [] for w in cp.field_writes if w.leads}
    if not out or per_field <= 0:
        return out
    shared = [e for e in entries if e.campaign_id == cp.campaign_id and e is not cp]
    seen: set[tuple[str, str | None, str]] = set()
    found = scanned = 0
    for entry in (cp, *shared):
        for p in first_leads(entry.calls, scan - scanned):
            scanned += 1
            if p.item.campaign != cp.name:  # another entry's lead in a shared call
                continue
            old = dict(p.old_tokens or ())
            for name, value in p.item.fields:
                samples = out.get(name)
                before = old.get(f"lead.{name}")
                if samples is None or len(samples) >= per_field or (name, before, value) in seen:
                    continue
                seen.add((name, before, value))
                samples.append(FieldSample(lead=p.item.lead, old=before, new=value))
            found += 1
            if found >= look:
                return out
        if scanned >= scan:
            break
    return out


def first_leads(calls: Sequence[Call], n: int) -> Iterator[PlannedItem]:
    """The first ``n`` leads ``calls`` carry, reading no further than needed."""
    if n <= 0:
        return
    count = 0
    if isinstance(calls, SpilledCalls):
        for tokens, lines in calls.iter_lines():
            for line in lines:
                yield calls.decode(line, tokens)
                count += 1
                if count >= n:
                    return
        return
    for call in calls:
        for p in call.items:
            yield p
            count += 1
            if count >= n:
                return


def entry_leads(cp: CampaignPlan, entries: Sequence[CampaignPlan] = ()) -> Iterator[PlannedItem]:
    """Every lead the campaign entry ``cp`` sends, in plan order, read a page at a time.

    Calls are shared by campaign id (``SpilledCalls``), so an entry's leads may travel in
    the calls of another of ``entries`` (the plan's): its own calls are read first (leaving
    out others' leads in them), then theirs (keeping only its own).  Only the lines kept
    are decoded; nothing is held but the page being read."""
    shared = [e for e in entries if e.campaign_id == cp.campaign_id and e is not cp]
    for entry in (cp, *shared):
        calls, own = entry.calls, entry is cp
        if isinstance(calls, SpilledCalls):
            # A line names its campaign entry first exactly when it is another's (lead_line).
            for tokens, lines in calls.iter_lines():
                for line in lines:
                    if line.startswith('{"campaign": ') == own:
                        continue
                    p = calls.decode(line, tokens)
                    if p.item.campaign == cp.name:
                        yield p
            continue
        others = {e.name for e in shared}
        for call in calls:
            for p in call.items:
                if (p.item.campaign not in others) if own else (p.item.campaign == cp.name):
                    yield p


@dataclass(frozen=True, kw_only=True)
class CampaignPlan:
    name: str
    campaign_id: int
    source: str
    counts: Mapping[str, int]
    calls: Sequence[Call]  # SpilledCalls from make_plan: read from disk when iterated
    # Held while short, else read from the spill (itemlists.SpilledList): see itemlists.
    invalid: Sequence[InvalidItem]
    unknown: Sequence[Item]
    lookup_emails: int  # distinct emails apply must resolve (not in the ledger's cache)
    lookup_calls: int
    one_lead_per_call: bool  # every lead has its own token set: each lead costs one call
    changed: Sequence[ChangedItem] = ()
    missing_forecast: int = 0  # emails to look up that Marketo did not know at the last run
    field_leads: int = 0  # leads whose lead fields (``fields:``) are written before the trigger
    # One token differs for every lead (the plan's advice): its name, else None.
    per_lead_token: str | None = None
    # Every lead field the entry writes, protected ones with their reasons (issue 25).
    field_writes: tuple[FieldWrite, ...] = ()
    # Due, but not in the reviewed plan as they are now (``apply --reviewed``): not sent.
    held: Sequence[HeldItem] = ()
    # Due, but another row of the same lead writes its fields first: the next run's.
    deferred: Sequence[DeferredItem] = ()
    # Of the leads to send, those whose email Marketo did not know at the last run, in an
    # entry with ``missing_leads: skip``: apply looks them up again and skips them if they
    # are still missing, so they alone change nothing (``Summary.needs_review``).
    missing_skip: int = 0

    @property
    def trigger_calls(self) -> int:
        return len(self.calls)

    @property
    def field_calls(self) -> int:
        """``leads.json`` calls writing the lead fields: 300 leads a call."""
        return math.ceil(self.field_leads / MAX_FIELD_RECORDS)

    @property
    def api_calls(self) -> int:
        preflight = PREFLIGHT_CALLS_PER_CAMPAIGN if self.calls else 0
        return self.trigger_calls + self.field_calls + self.lookup_calls + preflight


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSchedule:
    """A batch run the plan schedules (or shows as changed), and why (``plan.batch``)."""

    item: ScheduleItem
    action: Action  # SCHEDULE, RESCHEDULE (also when changed, not sent) or UNKNOWN
    old: Tokens | None = None  # the stored set sent before (reschedule)
    retry_of: str | None = None
    note: str | None = None  # e.g. the earlier run stays scheduled


@dataclass(frozen=True, slots=True, kw_only=True)
class OrphanedRun:
    """A run scheduled before (the ledger holds it as sent), still ahead, that no row gives
    any more: Marketo will run it unless someone cancels it there."""

    key: str
    run_at: str | None  # as sent; None when the record holds none (then no evidence it ran)
    tokens: Tokens  # the My Tokens sent (runAt and the clone name apart)
    clone_to_program: str | None = None
    scheduled_at: str | None = None  # when the ledger recorded it
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class SchedulePlan:
    """One ``schedules:`` entry's part of a plan."""

    name: str
    campaign_id: int
    source: str | None
    counts: Mapping[str, int]
    send: tuple[PlannedSchedule, ...]
    changed: tuple[PlannedSchedule, ...] = ()  # not sent (retrigger: never)
    invalid: tuple[InvalidItem, ...] = ()
    orphaned: tuple[OrphanedRun, ...] = ()  # still scheduled in Marketo; no row gives them
    when_misses: tuple[WhenMiss, ...] = ()  # literals of `when` no row holds (issue 22)

    @property
    def calls(self) -> int:
        return len(self.send)


@dataclass(frozen=True, kw_only=True)
class Summary:
    """The plan's totals.  Each class counts items (a row per campaign entry), except
    ``invalid``: rows, each once however many entries read it (a row is its source's name
    and its row number there), as the headline and apply's last line say them."""

    trigger: int = 0
    retrigger: int = 0
    unchanged: int = 0
    filtered: int = 0
    invalid: int = 0
    unknown: int = 0
    changed: int = 0
    deferred: int = 0
    missing_forecast: int = 0
    trigger_calls: int = 0
    lookup_calls: int = 0
    preflight_calls: int = 0
    schedule_calls: int = 0  # batch runs to schedule (mktsync.plan.batch), one call each
    schedule_changed: int = 0  # scheduled before, changed since, not sent again
    schedule_orphaned: int = 0  # still scheduled in Marketo, ahead, for rows that are gone
    field_calls: int = 0  # leads.json calls writing lead fields, and one describe call
    held: int = 0  # items due but held for review (``apply --reviewed``), not in the calls
    held_runs: int = 0  # batch runs due but held for review
    sending: int = 0  # leads in the trigger calls (new, changed and retried items)
    missing_skip: int = 0  # of them, not found at the last run under 'missing_leads: skip'
    schedule_unknown: int = 0  # batch runs whose earlier schedule call's outcome is unknown

    @property
    def usage_calls(self) -> int:
        """Apply reads today's usage once before any other call, when it has any to make
        (issue 24: ``stats/usage.json``, to keep ``quota_reserve``)."""
        others = (
            self.trigger_calls
            + self.lookup_calls
            + self.preflight_calls
            + self.schedule_calls
            + self.field_calls
        )
        return USAGE_CALLS if others else 0

    @property
    def total_calls(self) -> int:
        return (
            self.trigger_calls
            + self.lookup_calls
            + self.preflight_calls
            + self.schedule_calls
            + self.field_calls
            + self.usage_calls
        )

    @property
    def changes(self) -> bool:
        return self.trigger_calls > 0 or self.schedule_calls > 0

    @property
    def needs_review(self) -> bool:
        """What ``plan --detailed-exitcode`` answers 2 for (docs/exit-codes.md): an apply of
        this plan would change Marketo, or would not end with 0.

        It would change Marketo when it sends a lead other than those it will skip as
        missing (``missing_leads: skip``, not found at the last run), or schedules a batch
        run; it would end with 3 for an unknown outcome still unsettled and for a batch
        run still scheduled for a row that is gone.  What an apply accepts and ends 0 with
        is not a change: changed items not resent (``retrigger: never``), invalid rows
        within ``max_invalid``, missing leads skipped, rows deferred to the next run."""
        return (
            self.sending > self.missing_skip
            or self.schedule_calls > 0
            or self.unknown > 0
            or self.schedule_unknown > 0
            or self.schedule_orphaned > 0
        )


@dataclass(frozen=True, kw_only=True)
class Binding:
    """Where a saved plan may be applied (issue 21): the environment, the Marketo instance
    and the ledger it was made against.  ``apply PLAN`` refuses any other.

    ``instance`` is the base URL's host (``marketo.client.instance_host``), None when its
    variable was not set at plan time: the ledger's own instance binding stands in.
    ``ledger_id`` is the ledger's random id (``ledger_meta``), None when no ledger existed
    yet: the ledger applied to must then have no records.  ``ledger`` is the ledger as
    written in the config (or ``--ledger`` with its password replaced), for messages.
    """

    environment: str | None = None
    instance: str | None = None
    ledger_id: str | None = None
    ledger: str | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A whole plan: per campaign its classes, calls and problems, and what it costs."""

    config_path: str
    config_digest: str
    ledger_fingerprint: str
    limits: Limits
    max_calls: int | None
    retry_unknown: bool
    campaigns: tuple[CampaignPlan, ...]
    summary: Summary = field(default_factory=Summary)
    schedules: tuple[SchedulePlan, ...] = ()  # batch campaigns (mktsync.plan.batch)
    environment: str | None = None  # the --env the plan was made for
    # The ledger is new (absent or never used), with any evidence that these campaigns
    # were sent before (mktsync.ledger.history; issue 25).
    new_ledger: NewLedger | None = None
    # The run's instant: what ``now`` and ``today`` were (``dates.instant``), held in
    # ``timezone``; None only in a plan file written before it was recorded.
    now: datetime | None = None
    timezone: str = "UTC"
    binding: Binding | None = None  # set by ``plan_config``; None: not bound (see Binding)
    # Batch runs due but held for review (``apply --reviewed``): "name: key at run_at".
    held_runs: tuple[str, ...] = ()
    # Today's API usage of the instance, read by ``plan --usage`` (issue 24); None: not read.
    usage: DailyUsage | None = None
    # Literals of ``when`` no row holds (issue 22; ``render.values``): the plan warns.
    when_misses: tuple[WhenMiss, ...] = ()

    @property
    def calls_per_window(self) -> int:
        return self.limits.capacity

    @property
    def quota_share(self) -> float:
        return self.summary.total_calls / self.limits.daily_quota

    @property
    def estimated_seconds(self) -> float:
        """Time the calls take at the configured rate (latency aside): whole windows past the
        first (``Limits.seconds_for``, the model apply's ETA uses with measured latency)."""
        return self.limits.seconds_for(self.summary.total_calls)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def lead_line(
    item: Item,
    action: Action,
    old_tokens: Tokens | None = None,
    retry_of: str | None = None,
    *,
    campaign: str | None = None,
) -> str:
    """The item's line in the plan's JSON, exactly as ``json.dumps`` writes its dict
    (``plan.file._planned``; ``ensure_ascii=False``, separators ``", "`` and ``": "``),
    built from the C string encoder without the dict: this runs once per item.

    ``campaign`` names the item's campaign entry when the call is listed under another
    entry with the same campaign id (calls are shared by campaign id, issue 16).
    """
    s = encode_basestring
    if campaign is not None:
        return with_campaign(lead_line(item, action, old_tokens, retry_of), campaign)
    email = "null" if item.email is None else s(item.email)
    if item.lead_id is None:
        lead_id, lead = "null", (email if item.email is not None else s(item.lead))
    else:
        lead_id, lead = str(int(item.lead_id)), s(item.lead)
    line = (
        f'{{"action": {s(action)}, "key": {s(item.key)}, "lead": {lead},'
        f' "lead_id": {lead_id}, "email": {email}, "source": {s(item.source)},'
        f' "row": {int(item.row)}'
    )
    fields = item.fields  # both groups, by name: what the plan shows
    if fields:
        line += f', "fields": {_compact(dict(fields))}'
    if old_tokens is not None:
        line += f', "old_tokens": {_compact(dict(old_tokens))}'
    if retry_of is not None:
        line += f', "retry_of": {s(retry_of)}'
    return line + "}"


def with_campaign(line: str, campaign: str) -> str:
    """A lead line that also names its campaign entry (first key, as ``_planned`` puts it)."""
    return f'{{"campaign": {encode_basestring(campaign)}, {line[1:]}'


Synced = Mapping[str, frozenset[str]]  # campaign entry -> the lead fields it syncs (`fields:`)
NO_SYNCED: Synced = MappingProxyType({})


def planned_from_line(
    line: str, *, campaign: str, campaign_id: int, tokens: Tokens, synced: Synced = NO_SYNCED
) -> PlannedItem:
    """The ``PlannedItem`` a ``lead_line`` describes, in campaign ``campaign``."""
    return planned_from_lead(
        json.loads(line), campaign=campaign, campaign_id=campaign_id, tokens=tokens, synced=synced
    )


def planned_from_lead(
    lead: Mapping[str, Any],
    *,
    campaign: str,
    campaign_id: int,
    tokens: Tokens,
    synced: Synced = NO_SYNCED,
) -> PlannedItem:
    """The ``PlannedItem`` of one decoded lead entry (a spill line, or a saved plan's lead).

    A lead line writes the item's lead fields together (``Item.fields``); ``synced``
    says, per campaign entry, which of them are its ``fields:`` (the rest are
    ``lead.fields`` for created leads), so the item read back is the item written."""
    name = str(lead.get("campaign", campaign))
    values = lead.get("fields") or {}
    names = synced.get(name, frozenset())
    return PlannedItem(
        item=Item(
            campaign=name,
            campaign_id=campaign_id,
            key=str(lead["key"]),
            lead_id=lead["lead_id"],
            email=lead["email"],
            tokens=tokens,
            source=lead["source"],
            row=int(lead["row"]),
            synced=tuple((n, v) for n, v in values.items() if n in names),
            create_fields=tuple((n, v) for n, v in values.items() if n not in names),
        ),
        action=action_of(lead["action"]),
        old_tokens=tuple(lead["old_tokens"].items()) if "old_tokens" in lead else None,
        retry_of=lead.get("retry_of"),
    )


def sample_leads(
    calls: Sequence[Call], limit: int, *, action: Action | None = None
) -> tuple[int, list[PlannedItem]]:
    """How many leads ``calls`` carry (those of ``action`` only, if given), and the first
    ``limit`` of them: what a report shows.  Spilled calls are read a page at a time and
    only the leads shown are decoded, so a million-lead plan costs no memory here."""
    if not isinstance(calls, SpilledCalls):
        leads = [p for call in calls for p in call.items if action is None or p.action == action]
        return len(leads), leads[:limit]
    count = 0
    shown: list[PlannedItem] = []
    for tokens, lines in calls.iter_lines():
        if action is None and len(shown) == limit:
            count += len(lines)
            continue
        for line in lines:
            if action is not None and line_action(line) != action:
                continue
            count += 1
            if len(shown) < limit:
                shown.append(calls.decode(line, tokens))
    return count, shown


def line_action(line: str) -> str:
    """A lead line's action, read from its first key without decoding the line (see
    ``lead_line``; lines that name their campaign first are decoded)."""
    head = '{"action": "'
    if line.startswith(head):
        return line[len(head) : line.index('"', len(head))]
    return str(json.loads(line)["action"])


class SpilledCalls(StreamedSequence[Call]):
    """One campaign entry's calls, read from the plan's spill when iterated (module doc).

    The spill's part is the Marketo campaign id: entries that send to the same campaign
    with the same token set share calls, listed under the entry that sent first, each
    lead naming its own entry when it is another's.  Each spilled row is
    ``(line, email, lead id, entry index)``; ``synced`` names each entry's ``fields:``
    (see ``planned_from_lead``).

    >>> len(cp.calls), cp.calls[0].tokens                             # doctest: +SKIP
    (3, (('{{my.Link}}', 'https://example.com/j/1'),))
    """

    def __init__(
        self,
        spill: Spill,
        *,
        entry: int,
        names: Sequence[str],
        campaign_id: int,
        calls: int,
        synced: Synced = NO_SYNCED,
    ) -> None:
        self._spill = spill
        self._synced = synced
        self._entry = entry
        self._names = names
        self._campaign = names[entry]
        self._campaign_id = campaign_id
        self._len = calls

    def __len__(self) -> int:
        return self._len

    def iter_lines(self) -> Iterator[tuple[Tokens, list[str]]]:
        """Each call's token set and its leads' JSON lines, in plan order."""
        entry, names = self._entry, self._names
        for tokens, rows in self._spill.chunks(
            self._campaign_id, MAX_LEADS_PER_CALL, owner=(ENTRY, entry)
        ):
            yield (
                tokens,
                [row[_LINE] if row[_ENTRY] == entry else
                 with_campaign(row[_LINE], names[row[_ENTRY]]) for row in rows],
            )  # fmt: skip

    def decode(self, line: str, tokens: Tokens) -> PlannedItem:
        """The ``PlannedItem`` of one of this entry's lines, sent with ``tokens``."""
        return planned_from_line(
            line,
            campaign=self._campaign,
            campaign_id=self._campaign_id,
            tokens=tokens,
            synced=self._synced,
        )

    def __iter__(self) -> Iterator[Call]:
        for tokens, lines in self.iter_lines():
            yield Call(
                campaign_id=self._campaign_id,
                tokens=tokens,
                items=tuple(self.decode(line, tokens) for line in lines),
            )

    def __repr__(self) -> str:
        return f"<{self._len} calls of campaign {self._campaign!r}, spilled>"
