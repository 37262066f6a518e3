"""Planning: every item classified against the ledger, and the calls that would send them.

>>> plan = make_plan(config, ledger)                              # doctest: +SKIP
>>> plan.summary.trigger_calls                                    # doctest: +SKIP
3

Classes (DESIGN.md): ``+ trigger`` (new key, or an earlier attempt failed), ``~ retrigger``
(tokens changed and ``retrigger: on_change``), ``= unchanged``, ``- filtered`` (by ``when``),
``! invalid``, ``? unknown`` (an earlier call's outcome is unknown, or a run died while it
was in flight; sent again only with ``retry_unknown``) and ``≠ changed`` (sent before, its
tokens differ now, and ``retrigger: never``: shown with old and new tokens, never resent).

Items to send are grouped by exact token set, in order of first appearance, and cut into
calls of at most ``MAX_LEADS_PER_CALL``: the fewest calls the tokens allow, and the same
inputs always give the same plan.  Only what the output needs is held: unchanged and
filtered rows are counted, not kept.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from mktsync.config.model import Campaign, Config, Limits
from mktsync.errors import BudgetExceeded, PlanError
from mktsync.items import FilteredRow, InvalidItem, Item, Tokens, token_hash
from mktsync.render import check_invalid_limit

if TYPE_CHECKING:
    from mktsync.schedules import SchedulePlan

MAX_LEADS_PER_CALL = 100
MAX_LOOKUP_VALUES = 300
PREFLIGHT_CALLS_PER_CAMPAIGN = 2  # smart campaign (asset API) + its program's My Tokens
LOOKUP_BATCH = 500  # ledger keys looked up per query

T = TypeVar("T")
Action = Literal["trigger", "retrigger", "unknown"]
CLASSES = ("trigger", "retrigger", "unchanged", "filtered", "invalid", "unknown", "changed")


class LedgerView(Protocol):
    """What planning needs from a ledger (``mktsync.ledger.Ledger`` satisfies it)."""

    def lookup(self, campaign_id: int, keys: list[str]) -> Mapping[str, _Record]: ...
    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]: ...
    def missed_emails(self, emails: Iterable[str]) -> set[str]: ...
    def fingerprint(self) -> str: ...


class _Record(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def token_hash(self) -> str: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def lead_id(self) -> int | None: ...


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


@dataclass(frozen=True, kw_only=True)
class Call:
    """One trigger call: one campaign, one token set, at most 100 leads."""

    campaign_id: int
    tokens: Tokens
    items: tuple[PlannedItem, ...]


@dataclass(frozen=True, kw_only=True)
class CampaignPlan:
    name: str
    campaign_id: int
    source: str
    counts: Mapping[str, int]
    calls: tuple[Call, ...]
    invalid: tuple[InvalidItem, ...]
    unknown: tuple[Item, ...]
    lookup_emails: int  # distinct emails apply must resolve (not in the ledger's cache)
    lookup_calls: int
    one_lead_per_call: bool  # every lead has its own token set: each lead costs one call
    changed: tuple[ChangedItem, ...] = ()
    missing_forecast: int = 0  # emails to look up that Marketo did not know at the last run

    @property
    def trigger_calls(self) -> int:
        return len(self.calls)

    @property
    def api_calls(self) -> int:
        preflight = PREFLIGHT_CALLS_PER_CAMPAIGN if self.calls else 0
        return self.trigger_calls + self.lookup_calls + preflight


@dataclass(frozen=True, kw_only=True)
class Summary:
    trigger: int = 0
    retrigger: int = 0
    unchanged: int = 0
    filtered: int = 0
    invalid: int = 0
    unknown: int = 0
    changed: int = 0
    missing_forecast: int = 0
    trigger_calls: int = 0
    lookup_calls: int = 0
    preflight_calls: int = 0
    schedule_calls: int = 0  # batch runs to schedule (mktsync.schedules), one call each
    schedule_changed: int = 0  # scheduled before, changed since, not sent again

    @property
    def total_calls(self) -> int:
        return self.trigger_calls + self.lookup_calls + self.preflight_calls + self.schedule_calls

    @property
    def changes(self) -> bool:
        return self.trigger_calls > 0 or self.schedule_calls > 0

    @property
    def needs_review(self) -> bool:
        """Calls to send, or changed items or invalid rows (allowed by ``max_invalid``) a
        reviewer must see: ``--detailed-exitcode`` answers 2, never "no changes"."""
        return self.changes or self.changed > 0 or self.invalid > 0 or self.schedule_changed > 0


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
    schedules: tuple[SchedulePlan, ...] = ()  # batch campaigns (mktsync.schedules)
    environment: str | None = None  # the --env the plan was made for

    @property
    def calls_per_window(self) -> int:
        return max(1, math.floor(self.limits.calls * (1 - self.limits.safety_margin)))

    @property
    def quota_share(self) -> float:
        return self.summary.total_calls / self.limits.daily_quota

    @property
    def estimated_seconds(self) -> float:
        """Time the calls take at the configured rate (latency aside): whole windows past the first."""
        windows = math.ceil(self.summary.total_calls / self.calls_per_window)
        return max(0, windows - 1) * self.limits.window_seconds


def make_plan(
    config: Config,
    ledger: LedgerView,
    *,
    campaigns: Iterable[str] | None = None,
    retry_unknown: bool = False,
    now: datetime | None = None,
    config_path: str | None = None,
    preflight_calls: Mapping[int, int] | None = None,
) -> Plan:
    """Classify every row of every campaign (or of ``campaigns``) against ``ledger``.

    ``preflight_calls``: campaign id -> calls its preflight made at the last apply (the
    folder walk varies); campaigns not in it count ``PREFLIGHT_CALLS_PER_CAMPAIGN``."""
    from mktsync.render import iter_items
    from mktsync.schedules import plan_schedules

    now = now or datetime.now(UTC)
    names = list(config.campaigns) if campaigns is None else list(campaigns)
    schedule_names = None if campaigns is None else [n for n in names if n in config.schedules]
    names = [n for n in names if n not in config.schedules or n in config.campaigns]
    unknown_names = [n for n in names if n not in config.campaigns]
    if unknown_names:
        raise PlanError(f"no campaign named {', '.join(map(repr, unknown_names))} in the config")
    fingerprint = ledger.fingerprint()
    results = [
        _plan_campaign(
            config.campaigns[n],
            iter_items(config, config.campaigns[n], now=now),
            ledger,
            retry_unknown=retry_unknown,
        )
        for n in names
    ]
    plans = tuple(cp for cp, _ in results)
    uncached = set().union(*(emails for _, emails in results))
    plan = Plan(
        config_path=config_path or config.path.name,
        config_digest=config.digest,
        ledger_fingerprint=fingerprint,
        limits=config.marketo.limits,
        max_calls=config.max_calls,
        retry_unknown=retry_unknown,
        campaigns=plans,
        summary=_summarise(plans, _lookup_calls(plans, uncached), preflight_calls or {}),
        environment=config.environment,
    )
    schedules = plan_schedules(
        config, ledger, names=schedule_names, retry_unknown=retry_unknown, now=now
    )
    if schedules:  # one hook: the batch section, and its calls in the summary
        summary = dataclasses.replace(
            plan.summary,
            schedule_calls=sum(sp.calls for sp in schedules),
            schedule_changed=sum(len(sp.changed) for sp in schedules),
            preflight_calls=plan.summary.preflight_calls
            + PREFLIGHT_CALLS_PER_CAMPAIGN * len({sp.campaign_id for sp in schedules if sp.calls}),
        )
        plan = dataclasses.replace(plan, schedules=schedules, summary=summary)
    return plan


def _lookup_calls(plans: tuple[CampaignPlan, ...], uncached: set[str]) -> int:
    """Lead lookups for the whole run: apply resolves each uncached email once, whatever
    campaigns share it, and checks that the lead ids written in the data exist."""
    ids = {
        p.item.lead_id
        for cp in plans
        for call in cp.calls
        for p in call.items
        if p.item.lead_id is not None
    }
    return math.ceil(len(uncached) / MAX_LOOKUP_VALUES) + math.ceil(len(ids) / MAX_LOOKUP_VALUES)


def check_budget(plan: Plan, config: Config) -> None:
    """Refuse a plan that needs more calls than ``max_calls`` (global or per campaign) allows."""
    problems = []
    for cp in plan.campaigns:
        limit = config.campaigns[cp.name].max_calls
        if limit is not None and cp.api_calls > limit:
            problems.append(
                f"campaign '{cp.name}' needs {cp.api_calls} API calls; its max_calls is {limit}"
            )
    if plan.max_calls is not None and plan.summary.total_calls > plan.max_calls:
        problems.append(
            f"the plan needs {plan.summary.total_calls} API calls; max_calls is {plan.max_calls}"
        )
    if problems:
        raise BudgetExceeded("; ".join(problems) + " (raise the limit or narrow the change)")


def plan_campaign(
    campaign: Campaign,
    items: Iterable[Item | InvalidItem | FilteredRow],
    ledger: LedgerView,
    *,
    retry_unknown: bool = False,
) -> CampaignPlan:
    """One campaign's part of a plan (``make_plan`` calls this for each campaign)."""
    return _plan_campaign(campaign, items, ledger, retry_unknown=retry_unknown)[0]


def _plan_campaign(
    campaign: Campaign,
    items: Iterable[Item | InvalidItem | FilteredRow],
    ledger: LedgerView,
    *,
    retry_unknown: bool,
) -> tuple[CampaignPlan, set[str]]:
    """The campaign's plan and its emails missing from the ledger's cache: the run's
    lookups are counted from these, so the cache is read once per email, not twice."""
    counts = dict.fromkeys(CLASSES, 0)
    groups: dict[Tokens, list[PlannedItem]] = {}
    invalid: list[InvalidItem] = []
    unknown: list[Item] = []
    changed: list[ChangedItem] = []
    emails: set[str] = set()
    for batch in _batches(items, LOOKUP_BATCH):
        rendered = [x for x in batch if isinstance(x, Item)]
        for x in batch:
            if isinstance(x, FilteredRow):
                counts["filtered"] += 1
            elif isinstance(x, InvalidItem):
                counts["invalid"] += 1
                invalid.append(x)
        if not rendered:
            continue
        records = ledger.lookup(campaign.campaign_id, [i.key for i in rendered])
        for item in rendered:
            planned = _classify(campaign, item, records.get(item.key), retry_unknown)
            if isinstance(planned, ChangedItem):
                counts["changed"] += 1
                changed.append(planned)
                continue
            if isinstance(planned, str):
                counts[planned] += 1
                if planned == "unknown":
                    unknown.append(item)
                continue
            counts["unknown" if planned.action == "unknown" else planned.action] += 1
            if planned.action == "unknown":
                unknown.append(item)
            groups.setdefault(item.tokens, []).append(planned)
            if item.email is not None:
                emails.add(item.email)
    check_invalid_limit(campaign, invalid, sum(counts.values()))
    calls = tuple(
        Call(campaign_id=campaign.campaign_id, tokens=tokens, items=tuple(chunk))
        for tokens, members in groups.items()
        for chunk in _chunks(members, MAX_LEADS_PER_CALL)
    )
    cached = ledger.cached_lead_ids(sorted(emails)) if emails else {}
    uncached = emails.difference(cached)
    lookup_emails = len(uncached)
    missed = ledger.missed_emails(sorted(uncached)) if uncached else set()
    sending = sum(len(c.items) for c in calls)
    plan = CampaignPlan(
        name=campaign.name,
        campaign_id=campaign.campaign_id,
        source=campaign.source,
        counts=counts,
        calls=calls,
        invalid=tuple(invalid),
        unknown=tuple(unknown),
        lookup_emails=lookup_emails,
        lookup_calls=math.ceil(lookup_emails / MAX_LOOKUP_VALUES),
        one_lead_per_call=sending > 1 and len(calls) == sending,
        changed=tuple(changed),
        missing_forecast=len(missed),
    )
    return plan, uncached


def _classify(
    campaign: Campaign, item: Item, record: _Record | None, retry_unknown: bool
) -> PlannedItem | ChangedItem | str:
    if record is None:
        return PlannedItem(item=item, action="trigger")
    status = record.status
    if status == "failed":
        return PlannedItem(item=item, action="trigger", retry_of="failed")
    if status in ("unknown", "pending"):
        # 'pending' outside a run means a run died mid-call: its outcome is unknown too.
        if retry_unknown:
            return PlannedItem(item=item, action="unknown", retry_of="unknown")
        return "unknown"
    if record.token_hash != token_hash(item.tokens):
        if campaign.retrigger == "on_change":
            return PlannedItem(item=item, action="retrigger", old_tokens=record.tokens)
        return ChangedItem(item=item, old_tokens=record.tokens)
    return "unchanged"


def _summarise(
    plans: tuple[CampaignPlan, ...], lookup_calls: int, preflight: Mapping[int, int]
) -> Summary:
    total = dict.fromkeys(CLASSES, 0)
    for cp in plans:
        for k in CLASSES:
            total[k] += cp.counts[k]
    return Summary(
        **total,
        missing_forecast=sum(cp.missing_forecast for cp in plans),
        trigger_calls=sum(cp.trigger_calls for cp in plans),
        lookup_calls=lookup_calls,
        # Preflight checks each Marketo campaign once, however many entries send to it.
        preflight_calls=sum(
            preflight.get(cid, PREFLIGHT_CALLS_PER_CAMPAIGN)
            for cid in {cp.campaign_id for cp in plans if cp.calls}
        ),
    )


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for x in items:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
