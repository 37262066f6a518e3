"""Planning: every item classified against the ledger, and the calls that would send them.

>>> plan = make_plan(config, ledger)                              # doctest: +SKIP
>>> plan.summary.trigger_calls                                    # doctest: +SKIP
3

Classes (DESIGN.md; ``records.Action``, decided by ``classifier.classify`` as for batch
runs): ``+ trigger`` (new key, or an earlier attempt failed), ``~ retrigger`` (tokens
changed and ``retrigger: on_change``), ``= unchanged``, ``- filtered`` (by ``when``),
``! invalid``, ``? unknown`` (an earlier call's outcome is unknown, or a run died while it
was in flight; sent again only with ``retry_unknown``) and ``≠ changed`` (sent before, its
tokens differ now, and ``retrigger: never``: shown with old and new tokens, never resent).
What is compared is what the ledger records of an item (``Item.recorded``: its tokens
and the lead fields written for it), by ``items.token_hash``.

Items to send are grouped by Marketo campaign id and exact token set, in order of first
appearance, and cut into calls of at most ``MAX_LEADS_PER_CALL``: the fewest calls the
tokens allow (entries sharing a campaign id share calls), and the same inputs always give
the same plan.

What is held (issue 16): nothing per item.  Items to send go to a ``Spill`` on disk as
their plan-JSON lines and come back as ``SpilledCalls``; the ledger answers one join per
batch (``changed_records``) with only the keys that are not unchanged; unchanged and
filtered rows are counted, not kept.  What is held is bounded whatever the number of
rows: the spill's map of token sets to groups (``spill.GROUPS_HELD``), the duplicate-key
check (``render.KeyLog``), and the lists shown in full (invalid, unknown and changed
items) up to ``lists.HELD`` each, on the spill past that.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from mktsync.config.model import Campaign, Config
from mktsync.dates import instant
from mktsync.errors import BudgetExceeded, PlanError
from mktsync.items import FilteredRow, InvalidItem, Item, Tokens, token_hash
from mktsync.plan.classifier import LedgerRecord, classify
from mktsync.plan.defer import defer_clashes
from mktsync.plan.lists import Collector, decode_invalid, decode_item, encode_invalid, encode_item
from mktsync.plan.records import (
    CLASSES,
    DESCRIBE_CALLS,
    EMAIL,
    ENTRY,
    LEAD_ID,
    MAX_FIELD_RECORDS,
    MAX_LEADS_PER_CALL,
    PER_LEAD_SAMPLE,
    PREFLIGHT_CALLS_PER_CAMPAIGN,
    SPILL_COLUMNS,
    Action,
    Binding,
    CampaignPlan,
    ChangedItem,
    DeferredItem,
    HeldItem,
    Plan,
    PlannedItem,
    SpilledCalls,
    Summary,
    Synced,
    decode_changed,
    decode_deferred,
    decode_held,
    encode_changed,
    encode_deferred,
    encode_held,
    field_writes,
    lead_line,
)
from mktsync.plan.spill import GroupWriter, Mark, Spill
from mktsync.render import KeyCheck, KeyLog, SuspectKeys, WhenMiss, check_invalid_limit
from mktsync.render.keys import KEYS_HELD

if TYPE_CHECKING:
    from mktsync.plan.batch import StoredRun


Items = Iterable[Item | InvalidItem | FilteredRow]
ItemSource = Callable[[KeyCheck | None], Items]  # a fresh stream, with this duplicate-key check

MAX_LOOKUP_VALUES = 300
LOOKUP_BATCH = 2000  # items classified per ledger query (chunked to the store's limits)

T = TypeVar("T")


class LedgerView(Protocol):
    """What planning needs from a ledger (``mktsync.ledger.Ledger`` satisfies it)."""

    def lookup(self, campaign_id: int, keys: list[str]) -> Mapping[str, _Record]: ...
    def has_records(self, campaign_id: int) -> bool: ...
    def changed_records(
        self, campaign_id: int, pairs: Sequence[tuple[str, str]]
    ) -> Mapping[str, _Record | None]: ...
    def lead_cache_empty(self) -> bool: ...
    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]: ...
    def missed_emails(self, emails: Iterable[str]) -> set[str]: ...
    def fingerprint(self) -> str: ...
    def iter_records(self, campaign_id: int | None = None) -> Iterator[StoredRun]: ...


class Hold(Protocol):
    """Which items due now may be sent (``apply --reviewed``: those the reviewed plan held
    as they are now; ``plan.filecalls.ReviewedSet``)."""

    def reasons(self, items: Sequence[Item]) -> list[str | None]:
        """Per item: None to send it, else why it is held (``HeldItem.reason``)."""
        ...


class _Record(LedgerRecord, Protocol):
    @property
    def lead_id(self) -> int | None: ...


def make_plan(
    config: Config,
    ledger: LedgerView,
    *,
    campaigns: Iterable[str] | None = None,
    retry_unknown: bool = False,
    now: datetime | None = None,
    config_path: str | None = None,
    preflight_calls: Mapping[int, int] | None = None,
    hold: Hold | None = None,
    binding: Binding | None = None,
) -> Plan:
    """Classify every row of every campaign (or of ``campaigns``) against ``ledger``.

    ``now``: the run's instant (default: the wall clock), which templates see as ``now``
    and ``today`` in the config's ``timezone:`` (``dates.instant``); the plan records it.
    ``preflight_calls``: campaign id -> calls its preflight made at the last apply (the
    folder walk varies); campaigns not in it count ``PREFLIGHT_CALLS_PER_CAMPAIGN``.
    ``hold``: items due that it refuses are not sent but listed as held (``--reviewed``).
    ``binding``: where the plan was made, recorded for ``plan --out``."""
    from mktsync.plan.batch import plan_schedules
    from mktsync.render import iter_items

    now = instant(now, config.timezone)
    names = list(config.campaigns) if campaigns is None else list(campaigns)
    schedule_names = None if campaigns is None else [n for n in names if n in config.schedules]
    names = [n for n in names if n not in config.schedules or n in config.campaigns]
    unknown_names = [n for n in names if n not in config.campaigns]
    if unknown_names:
        raise PlanError(f"no campaign named {', '.join(map(repr, unknown_names))} in the config")
    fingerprint = ledger.fingerprint()
    misses: dict[str, list[WhenMiss]] = {}  # each entry's literals of `when` no row holds

    def items_of(name: str) -> ItemSource:
        def found(found: list[WhenMiss]) -> None:
            misses[name] = found  # the last read counts (a source may be read twice)

        campaign = config.campaigns[name]
        return lambda keys: iter_items(config, campaign, now=now, keys=keys, when_misses=found)

    entries = [(config.campaigns[n], items_of(n)) for n in names]
    plans, lookup_calls = _plan_entries(entries, ledger, retry_unknown=retry_unknown, hold=hold)
    plan = Plan(
        config_path=config_path or config.path.name,
        config_digest=config.digest,
        ledger_fingerprint=fingerprint,
        limits=config.marketo.limits,
        max_calls=config.max_calls,
        retry_unknown=retry_unknown,
        campaigns=plans,
        summary=_summarise(plans, lookup_calls, preflight_calls or {}, retry_unknown=retry_unknown),
        environment=config.environment,
        now=now,
        timezone=config.timezone,
        binding=binding,
        when_misses=tuple(m for n in names for m in misses.get(n, ())),
    )
    schedules = plan_schedules(
        config, ledger, names=schedule_names, retry_unknown=retry_unknown, now=now
    )
    if schedules:  # one hook: the batch section, and its calls in the summary
        summary = dataclasses.replace(
            plan.summary,
            schedule_calls=sum(sp.calls for sp in schedules),
            schedule_changed=sum(len(sp.changed) for sp in schedules),
            schedule_orphaned=sum(len(sp.orphaned) for sp in schedules),
            schedule_unknown=sum(sp.counts.get(Action.UNKNOWN, 0) for sp in schedules),
            preflight_calls=plan.summary.preflight_calls
            + PREFLIGHT_CALLS_PER_CAMPAIGN * len({sp.campaign_id for sp in schedules if sp.calls}),
        )
        found = plan.when_misses + tuple(m for sp in schedules for m in sp.when_misses)
        plan = dataclasses.replace(plan, schedules=schedules, summary=summary, when_misses=found)
    return plan


def check_budget(plan: Plan, config: Config) -> None:
    """Refuse a plan that needs more calls than ``max_calls`` (global or per campaign)
    allows, or, when the config sets no ``max_calls``, more than the daily quota.

    ``plan`` and ``apply`` both call it, so a pull request's plan fails for what the merge
    would refuse.  A plan past the daily quota cannot finish in one day: apply would spend
    the instance's quota (other integrations share it), stop at Marketo's 607 with exit
    4, and send the rest the next day.  That is refused unless ``max_calls`` says this
    many calls are expected: a run meant to spread over days.
    """
    problems = []
    for cp in plan.campaigns:
        limit = config.campaigns[cp.name].max_calls
        if limit is not None and cp.api_calls > limit:
            problems.append(
                f"campaign '{cp.name}' needs {cp.api_calls:,} API calls; its max_calls is {limit:,}"
            )
    total = plan.summary.total_calls
    if plan.max_calls is not None and total > plan.max_calls:
        problems.append(f"the plan needs {total:,} API calls; max_calls is {plan.max_calls:,}")
    if problems:
        problems[-1] += " (raise the limit or narrow the change)"
    quota = plan.limits.daily_quota
    if plan.max_calls is None and total > quota:
        problems.append(
            f"the plan needs {total:,} API calls, {plan.quota_share:.1%} of the daily quota"
            f" of {quota:,} (marketo.limits.daily_quota): it cannot finish in one day and would"
            " leave nothing for other integrations; narrow the change (--campaign), or set"
            f" max_calls: {total} to send it over several days (each apply stops at the"
            " quota, exit 4, and the next one resumes)"
        )
    if problems:
        raise BudgetExceeded("; ".join(problems))


def plan_campaign(
    campaign: Campaign, items: Items, ledger: LedgerView, *, retry_unknown: bool = False
) -> CampaignPlan:
    """One campaign's part of a plan (``make_plan`` plans every campaign at once)."""
    return plan_campaigns([(campaign, items)], ledger, retry_unknown=retry_unknown)[0]


def plan_campaigns(
    entries: Sequence[tuple[Campaign, Items]], ledger: LedgerView, *, retry_unknown: bool = False
) -> tuple[CampaignPlan, ...]:
    """Campaign entries planned together, as ``make_plan`` does (calls shared by campaign id)."""
    listed = [(c, items if isinstance(items, Sequence) else list(items)) for c, items in entries]
    return _plan_entries(
        [(c, lambda _keys, items=items: iter(items)) for c, items in listed],  # type: ignore[misc]
        ledger,
        retry_unknown=retry_unknown,
    )[0]


@dataclass(frozen=True, kw_only=True)
class _Part:
    """One campaign entry's plan before its calls and lead lookups are counted."""

    campaign: Campaign
    counts: Mapping[str, int]
    sending: int
    invalid: Sequence[InvalidItem]
    unknown: Sequence[Item]
    changed: Sequence[ChangedItem]
    per_lead_token: str | None = None
    held: Sequence[HeldItem] = ()
    deferred: Sequence[DeferredItem] = ()


def _plan_entries(
    entries: Sequence[tuple[Campaign, ItemSource]],
    ledger: LedgerView,
    *,
    retry_unknown: bool,
    hold: Hold | None = None,
) -> tuple[tuple[CampaignPlan, ...], int]:
    """Classify every entry's items; spill those to send, one part per Marketo campaign id.

    Entries that send to the same campaign id share a part, so equal token sets share
    calls (issue 16: fewer calls), and share their keys: the ledger keys an item by
    campaign id and key, so a key an earlier entry used is a duplicate in a later one.
    Duplicates are found with a ``render.KeyLog`` per campaign id: exact while small; when
    a big one finds repeated key hashes, the campaign id's rows are dropped from the
    spill and its entries classified again with an exact check of those keys (``items``
    gives a fresh stream each call); a source that changed in between is refused.
    """
    spill = Spill(columns=len(SPILL_COLUMNS))
    by_id: dict[int, list[int]] = {}
    for n, (campaign, _) in enumerate(entries):
        by_id.setdefault(campaign.campaign_id, []).append(n)
    parts: dict[int, _Part] = {}
    open_ids: dict[int, tuple[GroupWriter, Mark, KeyLog]] = {}
    for n, (campaign, items) in enumerate(entries):
        cid = campaign.campaign_id
        members = by_id[cid]
        if cid not in open_ids:
            writer = spill.writer(cid)
            names = [entries[m][0].name for m in members]
            open_ids[cid] = writer, writer.mark(), KeyLog(names)
        writer, mark, keys = open_ids[cid]
        keys.start(members.index(n))
        try:
            parts[n] = _classify_all(
                campaign, items(keys), ledger, writer, n, retry_unknown, spill, hold
            )
        except BaseException:
            keys.close()
            raise
        if n != members[-1]:
            continue
        del open_ids[cid]  # the last entry of this campaign id: check keys, then finish
        try:
            suspects = keys.repeats()
        finally:
            keys.close()
        if suspects:
            writer.rewind(mark)
            again = SuspectKeys(suspects, keys.names)
            for i, m in enumerate(members):
                again.start(i)
                entry, items_again = entries[m]
                parts[m] = _classify_all(
                    entry, items_again(again), ledger, writer, m, retry_unknown, spill, hold
                )
            if not keys.same_keys(again):
                raise PlanError(
                    f"{entries[members[0]][0].position}: campaigns "
                    + ", ".join(repr(entries[m][0].name) for m in members)
                    + ": a source changed while it was read (past "
                    f"{KEYS_HELD:,} keys, a source whose keys repeat is read twice to find "
                    "the duplicates); plan again when it is not being written"
                )
        for m in members:
            part = parts[m]
            rows = sum(part.counts.values()) + len(part.held)
            check_invalid_limit(part.campaign, part.invalid, rows)
        writer.finish()
    names = [campaign.name for campaign, _ in entries]
    synced = {c.name: frozenset(name for name, _ in c.fields) for c, _ in entries}
    ordered = _defer_clashes([parts[n] for n in range(len(entries))], spill, names, synced)
    calls: dict[int, int] = {}
    for cid in by_id:
        calls.update(spill.chunk_counts(cid, MAX_LEADS_PER_CALL, owner=ENTRY))
    spilled = [
        SpilledCalls(
            spill,
            entry=n,
            names=names,
            campaign_id=p.campaign.campaign_id,
            calls=calls.get(n, 0),
            synced=synced,
        )
        for n, p in enumerate(ordered)
    ]
    return _with_lookups(ordered, spilled, spill, ledger)


def _defer_clashes(
    parts: list[_Part], spill: Spill, names: Sequence[str], synced: Synced
) -> list[_Part]:
    """The parts with the items that must wait for the next run taken out of the spill and
    listed as ``» deferred`` (``plan.defer``: a lead's fields written twice in one run)."""
    writers = [n for n, p in enumerate(parts) if p.campaign.fields and p.sending]
    lists = {n: Collector(spill, encode_deferred, decode_deferred) for n in writers}

    def defer(entry: int, deferred: DeferredItem, action: Action) -> None:
        lists[entry].append(deferred)
        counts = parts[entry].counts
        counts[action] -= 1  # type: ignore[index]
        counts[Action.DEFERRED] += 1  # type: ignore[index]

    moved = defer_clashes(
        spill,
        names=names,
        campaign_ids=[p.campaign.campaign_id for p in parts],
        writers=writers,
        synced=synced,
        defer=defer,
    )
    if not moved:
        return parts
    return [
        dataclasses.replace(p, sending=p.sending - len(lists[n]), deferred=lists[n].done())
        if n in lists and len(lists[n])
        else p
        for n, p in enumerate(parts)
    ]


def _classify_all(
    campaign: Campaign,
    items: Items,
    ledger: LedgerView,
    writer: GroupWriter,
    entry: int,
    retry_unknown: bool,
    spill: Spill,
    hold: Hold | None = None,
) -> _Part:
    counts = dict.fromkeys((c.value for c in CLASSES), 0)
    # Listed in full in the plan: held while short, on the spill past that (itemlists).
    invalid = Collector(spill, encode_invalid, decode_invalid)
    unknown = Collector(spill, encode_item, decode_item)
    changed = Collector(spill, encode_changed, decode_changed)
    held = Collector(spill, encode_held, decode_held)
    sending = 0

    def send(due: list[PlannedItem]) -> int:
        """Count ``due`` and spill those ``hold`` lets through; the rest are held."""
        reasons = hold.reasons([p.item for p in due]) if hold is not None else None
        rows = []
        for n, planned in enumerate(due):
            item, action = planned.item, planned.action
            if action is Action.UNKNOWN:  # its outcome stays unknown, sent again or not
                unknown.append(item)
            reason = reasons[n] if reasons is not None else None
            if reason is not None:
                held.append(HeldItem(item=item, reason=reason))
                counts[Action.UNKNOWN] += action is Action.UNKNOWN
                continue
            counts[action] += 1
            line = lead_line(item, action, planned.old_tokens, planned.retry_of)
            rows.append((item.tokens, (line, item.email, item.lead_id, entry)))
        writer.add_many(rows)
        return len(rows)

    # A campaign id the ledger has never seen (a first run) needs no comparison at all:
    # every item is new (``classify`` of no record), no token hash, no query (issue 16).
    known = ledger.has_records(campaign.campaign_id)
    hash_of = _HashCache()
    per_lead = _PerLeadToken()
    for batch in _batches(items, LOOKUP_BATCH):
        rendered = [x for x in batch if type(x) is Item]
        if len(rendered) != len(batch):
            for x in batch:
                if isinstance(x, FilteredRow):
                    counts[Action.FILTERED] += 1
                elif isinstance(x, InvalidItem):
                    counts[Action.INVALID] += 1
                    invalid.append(x)
        if not rendered:
            continue
        per_lead.see(rendered)
        if not known and hold is not None:
            sending += send([PlannedItem(item=i, action=Action.TRIGGER) for i in rendered])
            continue
        if not known:
            counts[Action.TRIGGER] += len(rendered)
            sending += len(rendered)
            writer.add_many(
                [
                    (i.tokens, (lead_line(i, Action.TRIGGER), i.email, i.lead_id, entry))
                    for i in rendered
                ]
            )
            continue
        # Lead fields written (``fields:``) are recorded with the tokens: each lead's own
        # set then, which no cache would find twice.
        hash_fn = token_hash if campaign.fields else hash_of.function()
        pairs = [(i.key, hash_fn(i.recorded)) for i in rendered]
        records = ledger.changed_records(campaign.campaign_id, pairs)
        if not records:  # the steady state: every key sent before with these tokens
            counts[Action.UNCHANGED] += len(rendered)
            continue
        due: list[PlannedItem] = []
        for item, (key, recorded_hash) in zip(rendered, pairs, strict=True):
            if key not in records:  # sent before with these very tokens
                counts[Action.UNCHANGED] += 1
                continue
            verdict = classify(
                records[key],
                recorded_hash,
                retrigger=campaign.retrigger,
                retry_unknown=retry_unknown,
            )
            if verdict.send:
                due.append(PlannedItem(item=item, action=verdict.action, old_tokens=verdict.old,
                                       retry_of=verdict.retry_of))  # fmt: skip
                continue
            counts[verdict.action] += 1
            if verdict.old is not None:  # changed, not resent (retrigger: never)
                changed.append(ChangedItem(item=item, old_tokens=verdict.old))
            elif verdict.action is Action.UNKNOWN:
                unknown.append(item)
        sending += send(due)
    writer.flush()
    return _Part(
        campaign=campaign,
        counts=counts,
        sending=sending,
        invalid=invalid.done(),
        unknown=unknown.done(),
        changed=changed.done(),
        per_lead_token=per_lead.token(sending),
        held=held.done(),
    )


class _PerLeadToken:
    """Which token (if any) takes a different value for every lead seen: the plan's advice
    to make it a lead field.  Looks at the first ``PER_LEAD_SAMPLE`` items only (their
    values are held), and stops sooner once every token repeats."""

    def __init__(self, limit: int = PER_LEAD_SAMPLE) -> None:
        self._values: dict[str, set[str]] | None = None
        self._seen = 0
        self._limit = limit

    def see(self, items: list[Item]) -> None:
        if self._values is None:
            self._values = {n: set() for n, _ in items[0].tokens} if items else None
        values = self._values
        if values is None or self._seen >= self._limit:
            return
        for item in items[: self._limit - self._seen]:
            for name, value in item.tokens:
                if name in values:
                    seen = values[name]
                    if value in seen:
                        del values[name]
                    else:
                        seen.add(value)
            self._seen += 1
            if not values:
                break

    def token(self, sending: int) -> str | None:
        if not self._values or sending < 2:
            return None
        return min(self._values)


def _with_lookups(
    parts: list[_Part], calls: list[SpilledCalls], spill: Spill, ledger: LedgerView
) -> tuple[tuple[CampaignPlan, ...], int]:
    """Each campaign's plan with its lead lookups, and the run's lookup calls.

    Apply resolves each email not in the ledger's cache once, whatever campaigns share it,
    and checks that the lead ids written in the data exist.  The distinct emails are read
    from the spill a page at a time and each page is looked up in the cache once, so the
    count costs no memory per email.
    """
    uncached_by_part = [0] * len(parts)
    missed_by_part = [0] * len(parts)
    skipped_by_part = [0] * len(parts)  # items to emails missed, 'missing_leads: skip'
    skips = [p.campaign.missing_leads == "skip" for p in parts]
    uncached_total = 0
    if any(p.sending for p in parts) and ledger.lead_cache_empty():
        # Nothing was ever looked up (a first run): every email is to look up, none missed.
        for entries, count in spill.distinct_sets(EMAIL, by=ENTRY).items():
            uncached_total += count
            for n in entries:
                uncached_by_part[n] += count
    elif any(p.sending for p in parts):
        spill.index(EMAIL)
        for page in spill.distinct(EMAIL, by=ENTRY):
            cached = ledger.cached_lead_ids([email for email, _ in page])
            uncached = [(email, in_parts) for email, in_parts in page if email not in cached]
            uncached_total += len(uncached)
            missed = ledger.missed_emails([email for email, _ in uncached]) if uncached else set()
            for email, in_parts in uncached:
                for n, items in in_parts.items():
                    uncached_by_part[n] += 1
                    missed_by_part[n] += email in missed
                    if email in missed and skips[n]:
                        skipped_by_part[n] += items
    lead_ids = spill.count_distinct(LEAD_ID) if any(p.sending for p in parts) else 0
    plans = tuple(
        CampaignPlan(
            name=p.campaign.name,
            campaign_id=p.campaign.campaign_id,
            source=p.campaign.source,
            counts=p.counts,
            calls=calls[n],
            invalid=p.invalid,
            unknown=p.unknown,
            lookup_emails=uncached_by_part[n],
            lookup_calls=math.ceil(uncached_by_part[n] / MAX_LOOKUP_VALUES),
            one_lead_per_call=p.sending > 1 and len(calls[n]) == p.sending,
            changed=p.changed,
            missing_forecast=missed_by_part[n],
            field_leads=p.sending if p.campaign.fields else 0,
            per_lead_token=p.per_lead_token,
            field_writes=field_writes(p.campaign, p.sending, uncached_by_part[n]),
            held=p.held,
            deferred=p.deferred,
            missing_skip=skipped_by_part[n],
        )
        for n, p in enumerate(parts)
    )
    lookups = math.ceil(uncached_total / MAX_LOOKUP_VALUES)
    return plans, lookups + math.ceil(lead_ids / MAX_LOOKUP_VALUES)


class _HashCache:
    """``token_hash``, remembered while it pays: shared token sets (one per webinar) are
    hashed once; per-lead token sets never repeat, so after a batch that finds no repeat
    the cache steps aside instead of filling and evicting for nothing."""

    def __init__(self, size: int = 4096) -> None:
        self._seen: dict[Tokens, str] = {}
        self._size = size
        self._calls = self._hits = 0

    def function(self) -> Callable[[Tokens], str]:
        """What to hash the next batch with: this cache, or the bare hash once it stopped paying."""
        if self._calls > LOOKUP_BATCH and self._hits * 10 < self._calls:
            return token_hash
        return self

    def __call__(self, tokens: Tokens) -> str:
        self._calls += 1
        found = self._seen.get(tokens)
        if found is not None:
            self._hits += 1
            return found
        found = token_hash(tokens)
        if len(self._seen) < self._size:
            self._seen[tokens] = found
        return found


def _summarise(
    plans: tuple[CampaignPlan, ...],
    lookup_calls: int,
    preflight: Mapping[int, int],
    *,
    retry_unknown: bool = False,
) -> Summary:
    total = dict.fromkeys((c.value for c in CLASSES), 0)
    for cp in plans:
        for k in total:
            total[k] += cp.counts[k]
    total[Action.INVALID] = _invalid_rows(plans)
    return Summary(
        **total,
        sending=sum(
            cp.counts[Action.TRIGGER]
            + cp.counts[Action.RETRIGGER]
            + (cp.counts[Action.UNKNOWN] if retry_unknown else 0)
            for cp in plans
        ),
        missing_skip=sum(cp.missing_skip for cp in plans),
        missing_forecast=sum(cp.missing_forecast for cp in plans),
        trigger_calls=sum(cp.trigger_calls for cp in plans),
        lookup_calls=lookup_calls,
        # Preflight checks each Marketo campaign once, however many entries send to it.
        preflight_calls=sum(
            preflight.get(cid, PREFLIGHT_CALLS_PER_CAMPAIGN)
            for cid in {cp.campaign_id for cp in plans if cp.calls}
        )
        # and one describe of the lead fields when any entry writes them (issue 15).
        + (DESCRIBE_CALLS if any(cp.field_leads for cp in plans) else 0),
        # Apply writes every entry's fields in one stream, 300 leads a call.
        field_calls=math.ceil(sum(cp.field_leads for cp in plans) / MAX_FIELD_RECORDS),
        held=sum(len(cp.held) for cp in plans),
    )


def _invalid_rows(plans: Sequence[CampaignPlan]) -> int:
    """Invalid rows, each counted once however many entries read it: a row is its source's
    name and its row number there.  Each entry lists its invalid rows in source order, so
    merging the lists of one source counts the distinct rows without holding them."""
    by_source: dict[str, list[CampaignPlan]] = {}
    for cp in plans:
        if cp.invalid:
            by_source.setdefault(cp.source, []).append(cp)
    rows = 0
    for entries in by_source.values():
        merged = heapq.merge(*((i.row for i in cp.invalid) for cp in entries))
        rows += sum(1 for _ in itertools.groupby(merged))
    return rows


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for x in items:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
